"""Form fields the partners pages share: choices the services judge, email addresses, codes, lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms


class OpenMultipleChoiceField(forms.MultipleChoiceField):
    """Checkboxes whose values the service judges, so that a refused value gets the service's own words.

    A plain MultipleChoiceField would answer "Select a valid choice" to `advertising`; the platform
    has a clearer sentence for that, and only one place should hold the rule.
    """

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: str) -> bool:
        return True


def nonblank_lines(text: str) -> list[str]:
    """Return the lines of a textarea that hold something, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def email_field(*, label: str, required: str, example: str, help_text: str = "") -> forms.EmailField:
    """Return an email address field that says what to enter, and shows `example` when the format is wrong."""
    return forms.EmailField(
        label=label,
        help_text=help_text,
        error_messages={
            "required": required,
            "invalid": f"Enter an email address in the right format, like {example}.",
        },
    )


def code_field(*, max_length: int, rule: str, example: str, validator: Callable[[Any], None]) -> forms.CharField:
    """Return the field for a new catalog entry's code, which `rule` describes and which never changes."""
    return forms.CharField(
        label="Code",
        max_length=max_length,
        help_text=f"{rule} It cannot change later.",
        validators=[validator],
        error_messages={"required": f"Enter a code, like {example}."},
    )
