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


class MaximumLengthValidator:
    """Refuse a password longer than `max_length` characters: long passphrases yes, megabytes no."""

    def __init__(self, max_length: int = 1024) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: object = None) -> None:
        """Raise ValidationError when the password is too long."""
        if len(password) > self.max_length:
            raise ValidationError(self.message(), code="password_too_long")

    def message(self) -> str:
        """Return the sentence shown beside a password that is too long."""
        return f"Use a password of at most {self.max_length} characters. A long passphrase is fine; this is longer."

    def get_help_text(self) -> str:
        """Return the help text Django shows under password fields."""
        return f"Your password can be up to {self.max_length} characters long."
