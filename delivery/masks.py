"""The rule for an account as an event names it: masked, so a full account number never reaches the platform.

A mask is what the person recognises their account by, like `•••• 1234`: at most four digits 0-9,
no other digit characters (Arabic-Indic, full-width, ...), characters of Unicode's basic plane only,
no NUL, not only spaces. The rule is one regular expression, which the schema publishes and intake
applies, so both say the same; the sentence a bank reads says which part it broke.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic_core import PydanticCustomError

from portal.api.fields import WHITESPACE

MAX_DIGITS = 4


def _ranges(codes: Iterable[int]) -> str:
    """Return a regex character class body for `codes`, as \\uXXXX ranges (the same in every engine)."""
    spans: list[list[int]] = []
    for code in sorted(codes):
        if spans and code == spans[-1][1] + 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in spans)


_BASIC_PLANE = [code for code in range(1, 0x10000) if not 0xD800 <= code <= 0xDFFF]
_OTHER = [code for code in _BASIC_PLANE if not chr(code).isdigit()]  # anything but NUL, digits, surrogates
_SHOWN = [code for code in _OTHER if chr(code) not in WHITESPACE]
OTHER, SHOWN = f"[{_ranges(_OTHER)}]", f"[{_ranges(_SHOWN)}]"
# One to four digits anywhere, or none and at least one character that is not a space.
MASK_PATTERN = f"^(?:{OTHER}*(?:[0-9]{OTHER}*){{1,{MAX_DIGITS}}}|{OTHER}*{SHOWN}{OTHER}*)$"
_MASK = re.compile(MASK_PATTERN)


def mask_check(value: str) -> str:
    """Return `value` if it is a masked account, else raise the error that says what to change."""
    if _MASK.match(value):
        return value
    if sum(character.isdigit() for character in value) > MAX_DIGITS:
        raise PydanticCustomError(
            "unmasked_account", "Send the account masked, with at most its last 4 digits, like •••• 1234."
        )
    if not value.strip() or "\x00" in value:
        raise PydanticCustomError(
            "string_pattern_mismatch", "This field may not be blank or only spaces, and may not hold NUL characters."
        )
    raise PydanticCustomError("mask_characters", "Use letters, dots, spaces and at most 4 digits 0-9, like •••• 1234.")
