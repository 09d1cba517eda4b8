"""Forms of the bank's chatbot capabilities: what a capability does, and a new one's code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from portal.validators import validate_no_bidi_controls

from ..models import ChatbotCapability, DataScope, MessageType, capability_code_validator
from .fields import OpenMultipleChoiceField, code_field, nonblank_lines


class CapabilityForm(forms.Form):
    """A chatbot capability: what people can ask, the scopes it needs, the messages it sends."""

    name = forms.CharField(
        label="Name",
        max_length=120,
        validators=[validate_no_bidi_controls],
        error_messages={"required": "Give the capability a name, like 'Check my balance'."},
    )
    description = forms.CharField(
        label="What it does",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Describe what people can ask the bot to do."},
    )
    sample_utterances = forms.CharField(
        label="What people might say",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One sentence per line, like: What's my balance?",
    )
    scopes = OpenMultipleChoiceField(
        label="Scopes it needs",
        required=False,
        help_text="Only your bank's published scopes can be used.",
    )
    message_types = OpenMultipleChoiceField(label="Messages it sends", choices=MessageType.choices, required=False)
    webhook_url = forms.CharField(
        label="Web address (optional)",
        required=False,
        max_length=200,
        help_text="An https:// address on your servers that the platform calls for this capability.",
    )
    status = forms.ChoiceField(
        label="Status",
        choices=ChatbotCapability.Status.choices,
        help_text="Only published capabilities are offered to people.",
    )

    def __init__(self, *args: Any, scopes: Iterable[DataScope] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope_field = self.fields["scopes"]
        assert isinstance(scope_field, forms.MultipleChoiceField)
        scope_field.choices = [
            (scope.code, f"{scope.code} — {scope.published_version.name}" if scope.published_version else scope.code)
            for scope in scopes
        ]

    def clean_sample_utterances(self) -> list[str]:
        """Return one sentence per non-empty line."""
        return nonblank_lines(self.cleaned_data["sample_utterances"])

    def service_values(self) -> dict[str, Any]:
        """Return the cleaned values in the shape the capability services take."""
        return dict(self.cleaned_data)

    @staticmethod
    def initial_from(capability: ChatbotCapability) -> dict[str, Any]:
        """Return the form's initial values from a capability (its scopes prefetched)."""
        return {
            "name": capability.name,
            "description": capability.description,
            "sample_utterances": "\n".join(capability.sample_utterances),
            "scopes": [scope.code for scope in capability.scopes.all()],
            "message_types": capability.message_types,
            "webhook_url": capability.webhook_url,
            "status": capability.status,
        }


class CapabilityCreateForm(CapabilityForm):
    """A new capability: its code, then what it does."""

    code = code_field(
        max_length=50,
        rule="How your servers name it, like check_balance: lowercase letters, digits and underscores.",
        example="check_balance",
        validator=capability_code_validator,
    )

    field_order = ["code", "name", "description"]

    def service_values(self) -> dict[str, Any]:
        """Return the cleaned values without the code, which the service takes on its own."""
        values = super().service_values()
        values.pop("code")
        return values
