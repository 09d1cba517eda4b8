"""Serializer fields stricter than DRF's defaults, so the API accepts exactly what its schema says.

DRF turns a number into text, "12" into a number, 1 into true, trims text before measuring it and
reads times without their offset. A partner API that does so accepts requests its own schema calls
invalid, and a bank that relied on it breaks when that changes. These fields take JSON as its type
says, text exactly as sent, and times as RFC 3339 (with their offset); `text_pattern` writes the same
rules for text into the schema (see `portal.api.strict`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rest_framework import serializers
from rest_framework.fields import empty

from portal.validators import BIDI_CONTROLS, validate_no_bidi_controls

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

# What Python's str.strip() and str.isspace() count as white space, spelled out so that the schema's
# regular expression means the same in every engine (ECMA-262, Rust's and Python's `\s` all differ).
WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
NUL = "\x00"


def _escaped(characters: str) -> str:
    return "".join(f"\\u{ord(character):04x}" for character in sorted(characters))


def text_pattern(*, blank: bool, bidi: bool = False) -> str:
    """Return the regular expression of text a field takes: no NUL, not only white space unless `blank`.

    With `bidi` it also refuses the invisible text-direction controls (names other people read).
    """
    forbidden = NUL + ("".join(sorted(BIDI_CONTROLS)) if bidi else "")
    anything = f"[^{_escaped(forbidden)}]*"
    if blank:
        return f"^{anything}$"
    return f"^{anything}[^{_escaped(forbidden + WHITESPACE)}]{anything}$"


class StrictText:
    """Mixin for DRF's text fields: a JSON string, taken as sent (never trimmed), not only white space."""

    default_error_messages: ClassVar[dict[str, StrOrPromise]] = {
        "invalid": "Give text here, in quotes.",
        "blank": "This field may not be blank or only spaces.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["trim_whitespace"] = False
        super().__init__(*args, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        if data is not empty and data is not None:
            if not isinstance(data, str):
                self.fail("invalid")  # type: ignore[attr-defined]
            if not data.strip() and not getattr(self, "allow_blank", False):
                self.fail("blank")  # type: ignore[attr-defined]
        return super().run_validation(data)  # type: ignore[misc]

    def refuses_bidi_controls(self) -> bool:
        """Return True when the field refuses text-direction controls (a name other people read)."""
        return validate_no_bidi_controls in getattr(self, "validators", [])


class StrictCharField(StrictText, serializers.CharField):
    """Text: a JSON string, never a number or boolean."""


class StrictRegexField(StrictText, serializers.RegexField):
    """Text matching a regular expression, as sent."""


WEB_ADDRESS_PATTERN = "^[Hh][Tt][Tt][Pp][Ss]?://"


class StrictURLField(StrictText, serializers.URLField):
    """A web address as sent: http(s), and the shape Django's URLValidator checks (the model's rule too)."""

    default_error_messages = {
        **StrictText.default_error_messages,
        "invalid": "Give a full web address, like https://bank.example/hooks.",
    }


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean: `true` or `false`, never 0, 1, "yes" or "true"."""

    default_error_messages = {"invalid": "Give true or false, without quotes."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON whole number (12 or 12.0): never "12", 12.5 or true."""

    default_error_messages = {"invalid": "Give a whole number, without quotes."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float) and data.is_integer():
            data = int(data)  # JSON Schema counts 30.0 as an integer, so the API does too
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryIntegerField(serializers.IntegerField):
    """A whole number in a query string: digits only (no sign, spaces or decimal point)."""

    default_error_messages = {"invalid": "Give a whole number, in digits only."}

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not data.isascii() or not data.isdigit():
            self.fail("invalid")
        return int(data)


# RFC 3339's date-time, what the schema's `format: date-time` means: a date, a time and its offset.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})", re.ASCII
)


class StrictDateTimeField(serializers.DateTimeField):
    """A moment as RFC 3339 text with its offset, like 2026-01-01T09:00:00Z."""

    default_error_messages = {"invalid": "Give a date and time with its offset, like 2026-01-01T09:00:00Z."}

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str) or not RFC3339.fullmatch(value):
            self.fail("invalid")
        try:
            parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            self.fail("invalid")
        return super().to_internal_value(parsed)
