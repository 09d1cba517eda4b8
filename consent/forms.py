"""Forms of the consent pages: they read the shape of what was ticked; the services decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.http import QueryDict

from partners.models import MessageType

from .purposes import message_types_for
from .services import GrantChoice

PURPOSE_FIELD = re.compile(r"^purpose-(?P<version>\d{1,18})-(?P<purpose>[a-z_]{1,40})$")
TYPES_FIELD = re.compile(r"^types-(?P<version>\d{1,18})-(?P<purpose>[a-z_]{1,40})$")


def _values(data: Any, name: str) -> list[str]:
    """Return every value posted under `name` (a QueryDict holds several; a dict one)."""
    if isinstance(data, QueryDict):
        return data.getlist(name)
    value = data.get(name)
    return list(value) if isinstance(value, list | tuple) else ([value] if value else [])


class ConsentForm(forms.Form):
    """The consent screen: a checkbox per purpose of each scope, and switches for its message types.

    Fields are read from the posted names (`purpose-<version id>-<purpose>` and
    `types-<version id>-<purpose>`) rather than from the scopes on the page, so that a tampered
    form reaches the service, which refuses it and records the attempt.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_errors: dict[str, list[str]] = {}

    def add_field_error(self, name: str, message: str) -> None:
        """Show `message` beside the purpose `name` (and in the summary at the top)."""
        self.field_errors.setdefault(name, []).append(message)

    def takes_errors_for(self, name: str) -> bool:
        """Return True for a purpose's posted name: its errors show beside that purpose."""
        return bool(PURPOSE_FIELD.match(name))

    def add_error(self, field: str | None, error: Any) -> None:
        """Put an error about a purpose beside it; any other error as Django does."""
        if field is not None and self.takes_errors_for(field):
            self.add_field_error(field, str(error))
            return
        super().add_error(field, error)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        ticked: set[tuple[str, str]] = set()
        choices: list[GrantChoice] = []
        for name in self.data:
            match = PURPOSE_FIELD.match(name)
            if match is None or not self.data.get(name):
                continue
            version, purpose = match["version"], match["purpose"]
            ticked.add((version, purpose))
            own = message_types_for(purpose)
            types = own if len(own) == 1 else [t for t in _values(self.data, f"types-{version}-{purpose}") if t]
            if not types:
                self.add_field_error(name, "Choose at least one kind of message, or untick this purpose.")
                continue
            if any(t not in MessageType.values for t in types):
                raise forms.ValidationError("The form was changed. Reload the page and choose again.", code="invalid")
            choices.append(GrantChoice(int(version), purpose, tuple(types)))
        for name in self.data:
            match = TYPES_FIELD.match(name)
            if match and (match["version"], match["purpose"]) not in ticked and _values(self.data, name):
                self.add_field_error(
                    f"purpose-{match['version']}-{match['purpose']}",
                    "You switched on messages for a purpose you did not tick. "
                    "Tick the purpose too, or switch them off.",
                )
        if self.field_errors:
            raise forms.ValidationError("Some choices need your attention.", code="invalid")
        if not choices:
            raise forms.ValidationError("Tick at least one purpose to grant.", code="nothing_chosen")
        cleaned["choices"] = choices
        return cleaned


class RenewForm(forms.Form):
    """Renewing a grant: the scope version the person read on the page."""

    scope_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class NarrowForm(forms.Form):
    """Switching some of a grant's message types off."""

    message_types = forms.MultipleChoiceField(
        choices=MessageType.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
