"""The shape of an event as a bank posts it, and of each event type's payload (the API contract).

The contract is written once, as pydantic models: they validate every posted event (intake's hot
path, a few microseconds each) and drf-spectacular renders them into the OpenAPI schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from django.conf import settings
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from portal.api.fields import text_pattern

from .masks import MASK_PATTERN, mask_check
from .models import EventType

ShippingStatus = Literal["label_created", "in_transit", "out_for_delivery", "delivered", "exception"]
SHIPPING_STATUSES: tuple[str, ...] = get_args(ShippingStatus)
MAX_BATCH = 500


def _moment_as_text(value: Any) -> Any:
    if not isinstance(value, (str, datetime)):  # a number would pass as seconds since 1970: refuse it
        raise PydanticCustomError("moment_type", "Give a date and time as text, like 2026-01-01T09:00:00Z.")
    return value


def whole_number(value: Any) -> Any:
    """Return `value` if it is a JSON whole number; refuse text and booleans."""
    # A JSON number with no fraction (7 or 7.0, as JSON Schema counts integers), never "7" or true.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("int_type", "Give a whole number.")
    return value


def _in_utc(value: datetime) -> datetime:
    # Kept in UTC from here on: the database takes offsets up to 15:59 only, RFC 3339 up to 23:59.
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is a moment before the year 1 in UTC
        raise PydanticCustomError("moment_range", "Give a time between the years 1 and 9999 in UTC.") from None


def _moment_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isascii() or not value.isalpha() or not value.isupper():
        raise PydanticCustomError("currency", "Give a three-letter ISO 4217 code in capitals, like GBP.")
    return value


# A moment with its offset, stored and sent on in UTC.
Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_moment_as_text),
    AfterValidator(_in_utc),
    PlainSerializer(_moment_text, return_type=str),
    Field(
        description="A date and time with its offset, like 2026-01-01T09:00:00Z.",
        json_schema_extra={"format": "date-time"},
    ),
]
# An amount: up to 16 digits before the point and 2 after, as text (never a JSON number) so nothing is rounded.
AMOUNT_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$"
_AMOUNT = re.compile(AMOUNT_PATTERN)


def _amount_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("amount_type", 'Give the amount as text, in quotes, like "12.30".')
    if not _AMOUNT.match(value):
        whole, _, fraction = value.lstrip("-").partition(".")
        if whole.isdigit() and fraction.isdigit() and len(whole) <= 16:
            raise PydanticCustomError("amount_places", "Use at most 2 decimal places.")
        if whole.isdigit() and len(whole) > 16:
            raise PydanticCustomError("amount_digits", "Use at most 16 digits before the decimal point.")
        raise PydanticCustomError("amount_text", 'Give an amount like "12.30".')
    return value


Money = Annotated[
    Decimal,
    Field(
        max_digits=18,
        decimal_places=2,
        allow_inf_nan=False,
        description='An amount as text, like "1234.50".',
        json_schema_extra={"pattern": AMOUNT_PATTERN},
    ),
    BeforeValidator(_amount_text),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
]
Currency = Annotated[
    str,
    AfterValidator(_currency),
    Field(description="ISO 4217, like GBP.", json_schema_extra={"pattern": "^[A-Z]{3}$"}),
]


# Required texts of a bounded length, taken as sent: not only spaces, no NUL (portal.api.fields.text_pattern).
TEXT = text_pattern(blank=False)
Mask = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        description="The account as the person knows it, masked: at most its last 4 digits 0-9 (and no other "
        "digit characters), like •••• 1234; a full account number is refused with `unmasked_account`.",
        json_schema_extra={"pattern": MASK_PATTERN},
    ),
    AfterValidator(mask_check),
]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT)]
Carrier = Annotated[str, Field(min_length=1, max_length=100, pattern=TEXT)]
TrackingNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT)]


class Contract(BaseModel):
    """A part of the contract: unknown fields are refused, text is taken as sent, values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BalanceUpdatePayload(Contract):
    """`balance_update`: the balance of one account at a moment."""

    account_mask: Mask
    balance: Money
    available: Money
    currency: Currency
    as_of: Moment


class FraudAlertPayload(Contract):
    """`fraud_alert`: a payment the bank wants the person to confirm."""

    account_mask: Mask
    amount: Money
    currency: Currency
    merchant: Name
    occurred_at: Moment


class ReceiptItem(Contract):
    """One line of a receipt."""

    name: Name
    quantity: Annotated[int, Field(ge=1, le=100_000), BeforeValidator(whole_number)] = 1
    amount: Money


class ReceiptPayload(Contract):
    """`receipt`: what the person bought."""

    merchant: Name
    amount: Money
    currency: Currency
    items: Annotated[list[ReceiptItem], Field(max_length=100)] = []
    purchased_at: Moment


class ShippingUpdatePayload(Contract):
    """`shipping_update`: where a parcel is."""

    carrier: Carrier
    tracking_number: TrackingNumber
    status: ShippingStatus
    eta: Moment | None = None


class EventFields(Contract):
    """What every event carries besides its type and payload."""

    event_id: Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT)] | None = Field(
        default=None, description="Your idempotency key for this event (or the `Idempotency-Key` header)."
    )
    link: Annotated[int, Field(ge=1, le=2**63 - 1, description="The account link's id."), BeforeValidator(whole_number)]
    deliver_by: Moment | None = Field(
        default=None,
        description="Send nothing after this time (the update is stale then); a time already past is stored "
        "and its deliveries expire unsent.",
    )


class BalanceUpdateEvent(EventFields):
    """A balance update for the person behind `link`."""

    type: Literal["balance_update"]
    payload: BalanceUpdatePayload


class FraudAlertEvent(EventFields):
    """A fraud alert for the person behind `link` (sent on its own queue)."""

    type: Literal["fraud_alert"]
    payload: FraudAlertPayload


class ReceiptEvent(EventFields):
    """A receipt for the person behind `link`."""

    type: Literal["receipt"]
    payload: ReceiptPayload


class ShippingUpdateEvent(EventFields):
    """A shipping update for the person behind `link`."""

    type: Literal["shipping_update"]
    payload: ShippingUpdatePayload


# The chat reply's payload and cards have a module of their own; it uses the types above.
from .chat.cards import ChatReplyPayload  # noqa: E402


class ChatReplyEvent(EventFields):
    """The bank's bot answers a message of the person behind `link` (customer-service consent)."""

    type: Literal["chat_reply"]
    payload: ChatReplyPayload


EventUnion = BalanceUpdateEvent | FraudAlertEvent | ReceiptEvent | ShippingUpdateEvent | ChatReplyEvent
AnyEvent = Annotated[EventUnion, Field(discriminator="type")]
_EVENT: TypeAdapter[EventUnion] = TypeAdapter(AnyEvent)


# A batch's item: any object, since each is checked on its own and a mistake refuses only that one.
BatchedEvent = Annotated[
    Any,
    WithJsonSchema(
        {
            "description": "An event as posted alone (BalanceUpdateEvent, FraudAlertEvent, ReceiptEvent, "
            "ShippingUpdateEvent or ChatReplyEvent). Each is checked on its own: one that is not valid is refused in "
            "the results (outcome `refused`, with its error) and the others are still accepted.",
        }
    ),
]


class EventBatch(Contract):
    """Up to 500 events in one request; each is accepted or refused on its own."""

    events: Annotated[list[BatchedEvent], Field(min_length=1, max_length=MAX_BATCH)]


class EventIntake(RootModel[AnyEvent | EventBatch]):
    """One event, or `{"events": [...]}` (the request body of event intake, for the schema)."""


@dataclass(frozen=True)
class ValidEvent:
    """An event that passed validation, with its payload in canonical form."""

    event_id: str | None
    type: str
    link_id: int
    payload: dict[str, Any]
    deliver_by: datetime | None
    as_of: datetime | None  # when a balance update's figures were true (what supersession compares)
    raw: Any


class EventInvalid(Exception):
    """An event failed validation: per-field messages."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__("invalid event")
        self.fields = fields


# What to do about each kind of mistake, in our words; the rest keep pydantic's sentence.
_ADVICE = {
    "missing": "This field is required.",
    "extra_forbidden": "This field is not part of the contract; leave it out.",
    "string_too_short": "This field may not be blank.",
    "string_pattern_mismatch": "This field may not be blank or only spaces, and may not hold NUL characters.",
    "string_too_long": "Use at most {max_length} characters.",
    "string_type": "Give text here.",
    "timezone_aware": "Give the time with its offset, like 2026-01-01T09:00:00Z.",
    "datetime_parsing": "Give a date and time like 2026-01-01T09:00:00Z.",
    "datetime_from_date_parsing": "Give a date and time like 2026-01-01T09:00:00Z.",
    "decimal_parsing": 'Give an amount like "12.30".',
    "decimal_type": 'Give an amount like "12.30".',
    "decimal_max_places": "Use at most {decimal_places} decimal places.",
    "decimal_max_digits": "Use at most {max_digits} digits in all.",
    "decimal_whole_digits": "Use at most {whole_digits} digits before the decimal point.",
    "finite_number": 'Give an amount like "12.30".',
    "int_type": "Give a whole number.",
    "int_parsing": "Give a whole number.",
    "int_from_float": "Give a whole number.",
    "model_type": "Give a JSON object.",
    "model_attributes_type": "Give a JSON object.",
    "list_type": "Give a list.",
    "union_tag_invalid": "Choose one of: " + ", ".join(EventType.values) + ".",
    "union_tag_not_found": "Give the event's type: one of " + ", ".join(EventType.values) + ".",
}


_CARD_KINDS = "balance, places, chart"


def _advice(error: ErrorDetails) -> str:
    template = _ADVICE.get(error["type"])
    if template is None:
        message = error["msg"]
        return message if message.endswith(".") else message + "."
    return template.format(**error.get("ctx", {}))


def _fields(errors: list[ErrorDetails]) -> dict[str, Any]:
    """Return pydantic's errors as nested per-field messages, like `{"payload": {"balance": [...]}}`."""
    fields: dict[str, Any] = {}
    for error in errors:
        location = [str(part) for part in error["loc"]]
        if error["type"].startswith("union_tag") and len(location) <= 1:
            location = ["type"]
        elif error["type"].startswith("union_tag"):  # a card's `kind`: its own tags, not the event types
            error = {**error, "type": "card_kind", "msg": f"Give the card's kind: one of {_CARD_KINDS}."}
        if location and location[0] in EventType.values:
            location = location[1:]  # the discriminator's tag, not a field of the event
        node = fields
        for part in location[:-1] or []:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a message already stands here: keep them side by side
                child = node[part] = {"_": child}
            node = child
        node.setdefault(location[-1] if location else "_", []).append(_advice(error))
    return fields


def event_validate(data: Any) -> ValidEvent:
    """Return the event in canonical form, or raise EventInvalid with a message per field."""
    if not isinstance(data, dict):
        raise EventInvalid({"_": ["Each event must be a JSON object."]})
    payload = data.get("payload")
    if isinstance(payload, dict):
        size = len(json.dumps(payload, separators=(",", ":"), default=str).encode())
        if size > settings.DELIVERY_MAX_PAYLOAD_BYTES:
            raise EventInvalid(
                {"payload": [f"The payload is {size} bytes; the most is {settings.DELIVERY_MAX_PAYLOAD_BYTES}."]}
            )
    try:
        event = _EVENT.validate_python(data)
    except ValidationError as exc:
        raise EventInvalid(_fields(exc.errors(include_url=False, include_input=False))) from None
    return ValidEvent(
        event_id=event.event_id,
        type=event.type,
        link_id=event.link,
        payload=event.payload.model_dump(mode="json"),
        deliver_by=event.deliver_by,
        as_of=event.payload.as_of if isinstance(event, BalanceUpdateEvent) else None,
        raw=data,
    )
