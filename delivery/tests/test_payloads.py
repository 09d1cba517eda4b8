"""The event contract: what each type accepts, its canonical form, and the sentences a bank reads."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.masks import MASK_PATTERN
from delivery.message_texts import message_text
from delivery.models import TITLE_LENGTH, EventType
from delivery.payloads import AnyEvent, EventInvalid, event_validate


def balance(**payload: Any) -> dict[str, Any]:
    body = {"account_mask": "•••• 1234", "balance": "10.5", "available": "3", "currency": "GBP"}
    return {"type": "balance_update", "link": 7, "payload": {**body, "as_of": "2026-01-01T10:00:00+01:00", **payload}}


def refusal(event: Any) -> dict[str, Any]:
    with pytest.raises(EventInvalid) as caught:
        event_validate(event)
    return caught.value.fields


def test_every_event_type_has_a_payload_model() -> None:
    tags = {member.model_fields["type"].annotation.__args__[0] for member in AnyEvent.__origin__.__args__}
    assert tags == set(EventType.values)


def test_the_payload_is_kept_in_canonical_form() -> None:
    valid = event_validate(balance())
    assert valid.payload == {
        "account_mask": "•••• 1234",
        "balance": "10.50",
        "available": "3.00",
        "currency": "GBP",
        "as_of": "2026-01-01T09:00:00Z",
    }
    assert valid.as_of is not None
    assert valid.as_of.isoformat() == "2026-01-01T09:00:00+00:00"  # the same moment, kept in UTC
    assert event_validate({**balance(), "deliver_by": "2030-01-01T00:00:00Z"}).deliver_by is not None


@pytest.mark.parametrize(
    ("event", "where", "sentence"),
    [
        ({"type": "advert", "link": 7, "payload": {}}, ("type",), "Choose one of: balance_update"),
        ({"link": 7, "payload": {}}, ("type",), "Give the event's type"),
        ({**balance(), "link": True}, ("link",), "Give a whole number."),
        ({**balance(), "link": "7"}, ("link",), "Give a whole number."),
        ({**balance(), "colour": "red"}, ("colour",), "not part of the contract"),
        (balance(balance="1.234"), ("payload", "balance"), "Use at most 2 decimal places."),
        (balance(balance="NaN"), ("payload", "balance"), 'Give an amount like "12.30".'),
        (balance(currency="gbp"), ("payload", "currency"), "three-letter ISO 4217 code"),
        (balance(as_of=1_700_000_000), ("payload", "as_of"), "as text"),
        (balance(as_of="2026-01-01T10:00:00"), ("payload", "as_of"), "with its offset"),
        (balance(account_mask="  "), ("payload", "account_mask"), "may not be blank"),
        (balance(account_mask="x" * 33), ("payload", "account_mask"), "at most 32 characters"),
        (balance(account_mask="GB29NWBK60161331926819"), ("payload", "account_mask"), "at most its last 4 digits"),
        (balance(account_mask="12345678"), ("payload", "account_mask"), "at most its last 4 digits"),
        ({**balance(), "payload": "money"}, ("payload",), "Give a JSON object."),
        (
            {"type": "receipt", "link": 7, "payload": {"merchant": "M", "amount": "1", "currency": "GBP",
             "purchased_at": "2026-01-01T00:00:00Z", "items": [{"name": "x", "amount": "1", "quantity": 0}]}},
            ("payload", "items", "0", "quantity"),
            "greater than or equal to 1",
        ),
    ],
)  # fmt: skip
def test_a_mistake_is_named_at_its_field_with_what_to_do(
    event: dict[str, Any], where: tuple[str, ...], sentence: str
) -> None:
    node: Any = refusal(event)
    for part in where:
        node = node[part]
    assert any(sentence in message for message in node), node
    assert all(message.endswith(".") for message in node)


def test_a_payload_over_the_cap_is_refused_before_it_is_read() -> None:
    fields = refusal(balance(account_mask="x" * 9000))
    assert "bytes" in fields["payload"][0]
    assert refusal([]) == {"_": ["Each event must be a JSON object."]}


money = st.decimals(min_value=-(10**15), max_value=10**15, places=2, allow_nan=False, allow_infinity=False)


def _digits(text: str) -> int:
    return sum(character.isdigit() for character in text)


masks = st.from_regex(MASK_PATTERN, fullmatch=True).filter(lambda text: 1 <= len(text) <= 32)


@given(mask=st.text(min_size=5, max_size=32).filter(lambda text: _digits(text) > 4 and "\x00" not in text))
def test_a_mask_with_more_than_four_digits_is_always_refused(mask: str) -> None:
    assert refusal(balance(account_mask=mask))["payload"]["account_mask"] == [
        "Send the account masked, with at most its last 4 digits, like •••• 1234."
    ]


@given(balance_=money, available=money, mask=masks)
def test_the_canonical_form_validates_to_itself(balance_: Any, available: Any, mask: str) -> None:
    first = event_validate(balance(balance=str(balance_), available=str(available), account_mask=mask))
    again = event_validate({"type": first.type, "link": first.link_id, "payload": first.payload})
    assert again.payload == first.payload


def test_a_long_merchant_name_gives_a_title_that_fits_the_inbox() -> None:
    receipt = {"merchant": "M" * 200, "amount": "1.00", "currency": "GBP", "purchased_at": "2026-01-01T00:00:00Z"}
    title, body = message_text("receipt", event_validate({"type": "receipt", "link": 7, "payload": receipt}).payload)
    assert len(title) == TITLE_LENGTH
    assert title.endswith("…")
    assert "1.00 GBP" in body
