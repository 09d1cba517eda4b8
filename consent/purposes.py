"""Which purpose each message type serves, and the bit each message type takes in a grant's mask."""

from __future__ import annotations

from collections.abc import Iterable

from partners.models import MessageType, Purpose

# A message type is sent for exactly one purpose; a grant for that purpose is what allows it.
MESSAGE_TYPE_PURPOSE: dict[str, str] = {
    MessageType.BALANCE_UPDATE: Purpose.ACCOUNT_UPDATES,
    MessageType.FRAUD_ALERT: Purpose.FRAUD_ALERTS,
    MessageType.RECEIPT: Purpose.RECEIPTS_SHIPPING,
    MessageType.SHIPPING_UPDATE: Purpose.RECEIPTS_SHIPPING,
    MessageType.CHAT_REPLY: Purpose.CUSTOMER_SERVICE,
}

# Stored bits never change meaning: add new message types with new bits, never reuse one.
MESSAGE_TYPE_BITS: dict[str, int] = {
    MessageType.BALANCE_UPDATE: 1 << 0,
    MessageType.FRAUD_ALERT: 1 << 1,
    MessageType.RECEIPT: 1 << 2,
    MessageType.SHIPPING_UPDATE: 1 << 3,
    MessageType.CHAT_REPLY: 1 << 4,
}


def purpose_of(message_type: str) -> str | None:
    """Return the purpose a message type is sent for, or None for an unknown type."""
    return MESSAGE_TYPE_PURPOSE.get(message_type)


def message_types_for(purpose: str) -> list[str]:
    """Return the message types sent for `purpose`, in the platform's order."""
    return [message_type for message_type, owner in MESSAGE_TYPE_PURPOSE.items() if owner == purpose]


def mask_of(message_types: Iterable[str]) -> int:
    """Return the bitmask of `message_types` (every one must be known)."""
    mask = 0
    for message_type in message_types:
        mask |= MESSAGE_TYPE_BITS[message_type]
    return mask


def message_types_in(mask: int) -> list[str]:
    """Return the message types whose bits are set in `mask`, in the platform's order."""
    return [message_type for message_type, bit in MESSAGE_TYPE_BITS.items() if mask & bit]


def purpose_mask(purpose: str) -> int:
    """Return the mask of every message type sent for `purpose`."""
    return mask_of(message_types_for(purpose))
