"""The words a person reads for each event type: a title and one or two plain sentences."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from portal.moments import moment

from .models import TITLE_LENGTH, EventType

# A parcel's status as a person would say it: (title, the rest of "Your <carrier> parcel <number> …").
SHIPPING_WORDS: dict[str, tuple[str, str]] = {
    "label_created": ("Parcel about to ship", "has a shipping label: the sender is getting it ready"),
    "in_transit": ("Parcel on its way", "is on its way"),
    "out_for_delivery": ("Parcel out for delivery", "is out for delivery today"),
    "delivered": ("Parcel delivered", "was delivered"),
    "exception": ("Problem with a parcel", "is held up; the carrier will update you"),
}


def _when(value: str | None) -> str:
    if not value:
        return ""
    return moment(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _money(amount: str, currency: str) -> str:
    return f"{Decimal(amount):,.2f} {currency}"


def message_text(event_type: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Return the title and body a person reads for an event (raise on a payload that breaks the contract)."""
    title, body = _words(event_type, payload)
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 1].rstrip() + "…"
    return title, body


def _words(event_type: str, payload: dict[str, Any]) -> tuple[str, str]:
    if event_type == EventType.BALANCE_UPDATE:
        return (
            f"Balance of {payload['account_mask']}",
            f"Your balance is {_money(payload['balance'], payload['currency'])} "
            f"({_money(payload['available'], payload['currency'])} available) as of {_when(payload['as_of'])}.",
        )
    if event_type == EventType.FRAUD_ALERT:
        return (
            "Was this you?",
            f"A payment of {_money(payload['amount'], payload['currency'])} to {payload['merchant']} from "
            f"{payload['account_mask']} on {_when(payload['occurred_at'])}. If it was not you, tell your bank now.",
        )
    if event_type == EventType.RECEIPT:
        items = ", ".join(f"{item['quantity']} x {item['name']}" for item in payload.get("items", [])[:5])
        return (
            f"Receipt from {payload['merchant']}",
            f"You paid {_money(payload['amount'], payload['currency'])} on {_when(payload['purchased_at'])}."
            + (f" {items}." if items else ""),
        )
    if event_type == EventType.SHIPPING_UPDATE:
        title, words = SHIPPING_WORDS[str(payload["status"])]
        eta = f" Expected {_when(payload['eta'])}." if payload.get("eta") else ""
        return (
            title,
            f"Your {payload['carrier']} parcel {payload['tracking_number']} {words}.{eta}",
        )
    raise ValueError(f"unknown event type {event_type!r}")
