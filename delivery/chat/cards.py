"""The `chat_reply` event's payload and its optional card (a balance, a list of places, a small chart).

Part of the event contract of `delivery.payloads`, written the same way (pydantic, refused unknown fields).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, WithJsonSchema

from ..payloads import AMOUNT_PATTERN, TEXT, Contract, Currency, Mask, Moment, Money, Name, whole_number
from .models import TEXT_LENGTH

MAX_SUGGESTIONS = 6
MAX_PLACES = 10
MAX_POINTS = 12

# An amount that may be left out: the schema keeps the amount's pattern (a plain union would lose it).
OptionalMoney = Annotated[
    Money | None,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": AMOUNT_PATTERN, "description": 'An amount as text, like "1234.50".'},
                {"type": "null"},
            ]
        }
    ),
]
Suggestion = Annotated[str, Field(min_length=1, max_length=60, pattern=TEXT)]
Label = Annotated[str, Field(min_length=1, max_length=40, pattern=TEXT)]
Address = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT)]


class BalanceCard(Contract):
    """A balance, shown as a card under the reply's text."""

    kind: Literal["balance"]
    account_mask: Mask
    balance: Money
    available: OptionalMoney = None
    currency: Currency
    as_of: Moment | None = None


class Place(Contract):
    """One place of a list (an ATM, a branch)."""

    name: Name
    address: Address
    distance_m: Annotated[int, Field(ge=0, le=1_000_000), BeforeValidator(whole_number)] | None = None


class PlacesCard(Contract):
    """A short list of places, nearest first."""

    kind: Literal["places"]
    title: Name | None = None
    places: Annotated[list[Place], Field(min_length=1, max_length=MAX_PLACES)]


class ChartPoint(Contract):
    """One bar of a small chart."""

    label: Label
    value: Money


class ChartCard(Contract):
    """A small bar chart (like a month's spend by week), with an optional total."""

    kind: Literal["chart"]
    title: Name
    currency: Currency | None = None
    total: OptionalMoney = None
    points: Annotated[list[ChartPoint], Field(min_length=1, max_length=MAX_POINTS)]


Card = Annotated[BalanceCard | PlacesCard | ChartCard, Field(discriminator="kind")]
_CARD: TypeAdapter[BalanceCard | PlacesCard | ChartCard] = TypeAdapter(Card)


class ChatReplyPayload(Contract):
    """`chat_reply`: the bot's answer to one message the person wrote (or to their fraud-alert answer)."""

    in_reply_to: Annotated[
        int,
        Field(ge=1, le=2**63 - 1, description="The `message.id` of the `chat.message` (or `fraud_alert.answered`) "
              "webhook this answers; a message of another person or bank is refused with `reply_not_found`."),
        BeforeValidator(whole_number),
    ]  # fmt: skip
    text: Annotated[str, Field(min_length=1, max_length=TEXT_LENGTH, pattern=TEXT)]
    suggestions: Annotated[list[Suggestion], Field(max_length=MAX_SUGGESTIONS)] = []
    card: Card | None = None


def card_validate(data: Any) -> dict[str, Any] | None:
    """Return a stored card in canonical form (None for none); raise pydantic's ValidationError if it is not one."""
    if data is None:
        return None
    return _CARD.validate_python(data).model_dump(mode="json", exclude_none=True)
