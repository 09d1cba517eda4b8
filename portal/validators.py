"""Checks on text one person writes and other people read: names of banks, scopes, capabilities, people."""

from __future__ import annotations

from django.core.exceptions import ValidationError

# Unicode's explicit direction embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069):
# invisible, they make a name display in an order other than the one stored ("Trojan Source"), so a
# bank could show people a name that reads as another bank's, or a person as someone else.
BIDI_CONTROLS = frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def validate_no_bidi_controls(value: object) -> None:
    """Refuse text that holds an invisible text-direction control character."""
    found = sorted({char for char in str(value) if char in BIDI_CONTROLS})
    if found:
        listed = ", ".join(f"U+{ord(char):04X}" for char in found)
        raise ValidationError(
            f"Remove the invisible text-direction characters ({listed}): "
            "they make a name read differently from what it is.",
            code="bidi_control",
        )
