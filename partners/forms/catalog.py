"""Forms of the bank's scope catalog: a scope's wording and limits, and a new scope's code."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import forms

from portal.validators import validate_no_bidi_controls

from ..models import MAX_GRANT_DAYS, DataCategory, DataScopeVersion, Purpose, scope_code_validator
from .fields import OpenMultipleChoiceField, code_field, nonblank_lines

# "name — meaning": an em or en dash, a spaced hyphen, or a colon separates the two.
_FIELD_LINE = re.compile(r"^(?P<name>[^\u2014\u2013:]+?)\s*(?:\u2014|\u2013|\s-\s|:)\s*(?P<description>.+)$")


def fields_as_text(fields: Iterable[dict[str, Any]]) -> str:
    """Return a scope's data fields as the textarea shows them, one "name — meaning" per line."""
    return "\n".join(f"{item.get('name', '')} — {item.get('description', '')}" for item in fields)


class ScopeForm(forms.Form):
    """The wording of a scope people read, and the limits the bank promises."""

    # The services call the data fields `fields`, a name a Django form keeps for itself.
    SERVICE_FIELD_NAMES = {"fields": "data_fields"}

    name = forms.CharField(
        label="Name people read",
        max_length=120,
        validators=[validate_no_bidi_controls],
        help_text="Plain words, like 'Your account balances'.",
        error_messages={"required": "Give the scope a name people will read."},
    )
    description = forms.CharField(
        label="What you share and why",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="People read this before they decide. Say what you share and what it is used for.",
        error_messages={"required": "Describe what the bank will share and why."},
    )
    category = forms.ChoiceField(
        label="Data category",
        choices=[("", "Choose a category"), *DataCategory.choices],
        error_messages={"required": "Choose a data category."},
    )
    data_fields = forms.CharField(
        label="Data fields",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: a name, a dash, then what it means. For example: balance — current balance.",
        error_messages={"required": "List at least one data field."},
    )
    purposes = OpenMultipleChoiceField(
        label="Purposes",
        choices=Purpose.choices,
        help_text="What the data may be used for. The platform's list is closed: "
        "there is no advertising or marketing purpose.",
        required=False,
    )
    sensitivity = forms.ChoiceField(
        label="Sensitivity",
        choices=DataScopeVersion.Sensitivity.choices,
        widget=forms.RadioSelect,
        help_text="High-sensitivity scopes wait for compliance approval before people see them.",
        error_messages={"required": "Choose low, medium or high."},
    )
    retention_days = forms.IntegerField(
        label="How long you keep the data (days)",
        help_text="From 1 to 3650 days.",
        error_messages={"required": "Enter a number of days.", "invalid": "Enter a whole number of days."},
    )
    max_duration_days = forms.IntegerField(
        label="Longest grant (days)",
        help_text=f"A person's permission runs out after this many days; at most {MAX_GRANT_DAYS}.",
        error_messages={"required": "Enter a number of days.", "invalid": "Enter a whole number of days."},
    )

    def clean_data_fields(self) -> list[dict[str, str]]:
        """Return the textarea's lines as [{"name", "description"}]."""
        parsed = []
        for number, line in enumerate(nonblank_lines(self.cleaned_data["data_fields"]), start=1):
            match = _FIELD_LINE.match(line)
            if match is None:
                raise forms.ValidationError(
                    f"Line {number} needs a name, a dash, then what it means, like 'balance — current balance'."
                )
            parsed.append({"name": match["name"].strip(), "description": match["description"].strip()})
        if not parsed:
            raise forms.ValidationError("List at least one data field.")
        return parsed

    def service_values(self) -> dict[str, Any]:
        """Return the cleaned content in the shape the scope services take."""
        names = ("name", "description", "category", "purposes", "sensitivity", "retention_days", "max_duration_days")
        return {"fields": self.cleaned_data["data_fields"], **{name: self.cleaned_data[name] for name in names}}

    @staticmethod
    def initial_from(version: DataScopeVersion) -> dict[str, Any]:
        """Return the form's initial values from a scope version."""
        return {**version.content(), "data_fields": fields_as_text(version.fields)}


class ScopeCreateForm(ScopeForm):
    """A new scope: its code, then its first wording."""

    code = code_field(
        max_length=48,
        rule="How your servers and the API name it, like balances.read: lowercase words and "
        "underscores, a dot, then read, push or write.",
        example="balances.read",
        validator=scope_code_validator,
    )

    field_order = ["code", "name", "description", "category", "data_fields", "purposes", "sensitivity"]
