"""The shape of an event as a bank posts it, and of each event type's payload (the API contract)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from rest_framework import serializers

from .models import EventType

CURRENCY = r"^[A-Z]{3}$"


class StrictSerializer(serializers.Serializer[Any]):
    """A serializer that refuses fields it does not know: banks send only what the contract names."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["This field is not part of the contract; leave it out."] for key in unknown}
                )
        return super().to_internal_value(data)


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)


class BalanceUpdatePayload(StrictSerializer):
    """`balance_update`: the balance of one account at a moment."""

    account_mask = serializers.CharField(max_length=32)
    balance = _money()
    available = _money()
    currency = serializers.RegexField(CURRENCY, help_text="ISO 4217, like GBP.")
    as_of = serializers.DateTimeField()


class FraudAlertPayload(StrictSerializer):
    """`fraud_alert`: a payment the bank wants the person to confirm."""

    account_mask = serializers.CharField(max_length=32)
    amount = _money()
    currency = serializers.RegexField(CURRENCY)
    merchant = serializers.CharField(max_length=200)
    occurred_at = serializers.DateTimeField()


class ReceiptItem(StrictSerializer):
    """One line of a receipt."""

    name = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000, default=1)
    amount = _money()


class ReceiptPayload(StrictSerializer):
    """`receipt`: what the person bought."""

    merchant = serializers.CharField(max_length=200)
    amount = _money()
    currency = serializers.RegexField(CURRENCY)
    items = serializers.ListField(child=ReceiptItem(), max_length=100, required=False, default=list)
    purchased_at = serializers.DateTimeField()


SHIPPING_STATUSES = ("label_created", "in_transit", "out_for_delivery", "delivered", "exception")


class ShippingUpdatePayload(StrictSerializer):
    """`shipping_update`: where a parcel is."""

    carrier = serializers.CharField(max_length=100)
    tracking_number = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=SHIPPING_STATUSES)
    eta = serializers.DateTimeField(required=False, allow_null=True)


PAYLOADS: dict[str, type[StrictSerializer]] = {
    EventType.BALANCE_UPDATE: BalanceUpdatePayload,
    EventType.FRAUD_ALERT: FraudAlertPayload,
    EventType.RECEIPT: ReceiptPayload,
    EventType.SHIPPING_UPDATE: ShippingUpdatePayload,
}


class EventIn(StrictSerializer):
    """One event as posted: its type, the account link it is for, its payload and optional timing."""

    event_id = serializers.CharField(
        min_length=1, max_length=200, required=False, help_text="Your idempotency key for this event."
    )
    type = serializers.ChoiceField(choices=EventType.choices)
    link = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The account link's id.")
    payload = serializers.DictField(help_text="The fields of the event's type (see the type's schema).")
    deliver_by = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Send nothing after this time (the update is stale then)."
    )


class EventBatchIn(StrictSerializer):
    """Up to 500 events in one request; each is accepted or refused on its own."""

    events = serializers.ListField(child=EventIn(), min_length=1, max_length=500)


@dataclass(frozen=True)
class ValidEvent:
    """An event that passed validation, with its payload in canonical form."""

    event_id: str | None
    type: str
    link_id: int
    payload: dict[str, Any]
    deliver_by: datetime | None
    raw: Any

    @property
    def as_of(self) -> datetime | None:
        """Return when a balance update's figures were true (what supersession compares)."""
        if self.type != EventType.BALANCE_UPDATE:
            return None
        return serializers.DateTimeField().to_internal_value(self.payload["as_of"])


class EventInvalid(Exception):
    """An event failed validation: per-field messages."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__("invalid event")
        self.fields = fields


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [str(item) for item in detail]
        return [_flatten(item) for item in detail]
    return [str(detail)]


def event_validate(data: Any) -> ValidEvent:
    """Return the event in canonical form, or raise EventInvalid with a message per field."""
    if not isinstance(data, dict):
        raise EventInvalid({"_": ["Each event must be a JSON object."]})
    envelope = EventIn(data=data)
    if not envelope.is_valid():
        raise EventInvalid(_flatten(envelope.errors))
    values = envelope.validated_data
    payload_data = values["payload"]
    size = len(json.dumps(payload_data, default=str).encode())
    if size > settings.DELIVERY_MAX_PAYLOAD_BYTES:
        raise EventInvalid(
            {"payload": [f"The payload is {size} bytes; the most is {settings.DELIVERY_MAX_PAYLOAD_BYTES}."]}
        )
    payload = PAYLOADS[values["type"]](data=payload_data)
    if not payload.is_valid():
        raise EventInvalid({"payload": _flatten(payload.errors)})
    canonical = payload.to_representation(payload.validated_data)
    return ValidEvent(
        event_id=values.get("event_id"),
        type=values["type"],
        link_id=values["link"],
        payload=json.loads(json.dumps(canonical, default=str)),
        deliver_by=values.get("deliver_by"),
        raw=data,
    )
