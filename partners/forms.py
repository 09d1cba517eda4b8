"""Forms of the bank's own pages: they check the shape of what a member typed; services decide the rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import forms

from .models import (
    MAX_GRANT_DAYS,
    ChatbotCapability,
    DataCategory,
    DataScope,
    DataScopeVersion,
    MessageType,
    PartnerApiKey,
    PartnerMembership,
    Purpose,
    WebhookEvent,
    capability_code_validator,
    scope_code_validator,
)


class OpenMultipleChoiceField(forms.MultipleChoiceField):
    """Checkboxes whose values the service judges, so that a refused value gets the service's own words.

    A plain MultipleChoiceField would answer "Select a valid choice" to `advertising`; the platform
    has a clearer sentence for that, and only one place should hold the rule.
    """

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: str) -> bool:
        return True


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# "name — meaning": an em or en dash, a spaced hyphen, or a colon separates the two.
_FIELD_LINE = re.compile(r"^(?P<name>[^\u2014\u2013:]+?)\s*(?:\u2014|\u2013|\s-\s|:)\s*(?P<description>.+)$")


def fields_as_text(fields: Iterable[dict[str, Any]]) -> str:
    """Return a scope's data fields as the textarea shows them, one "name — meaning" per line."""
    return "\n".join(f"{item.get('name', '')} — {item.get('description', '')}" for item in fields)


class InvitationForm(forms.Form):
    """A manager invites a person to the bank with a role."""

    email = forms.EmailField(
        label="Email address",
        help_text="We email an invitation link to this address. It works once, for 7 days.",
        error_messages={
            "required": "Enter the email address of the person to invite.",
            "invalid": "Enter an email address in the right format, like name@bank.example.",
        },
    )
    role = forms.ChoiceField(
        label="Role",
        choices=PartnerMembership.Role.choices,
        widget=forms.RadioSelect,
        help_text="Managers accept terms and invite people; developers manage the catalog, keys and webhooks; "
        "compliance contacts can read everything and change nothing.",
        error_messages={"required": "Choose a role."},
    )


class ScopeForm(forms.Form):
    """The wording of a scope people read, and the limits the bank promises."""

    # The services call the data fields `fields`, a name a Django form keeps for itself.
    SERVICE_FIELD_NAMES = {"fields": "data_fields"}

    name = forms.CharField(
        label="Name people read",
        max_length=120,
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
        for number, line in enumerate(_lines(self.cleaned_data["data_fields"]), start=1):
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

    code = forms.CharField(
        label="Code",
        max_length=48,
        help_text="How your servers and the API name it, like balances.read: lowercase words and "
        "underscores, a dot, then read, push or write. It cannot change later.",
        validators=[scope_code_validator],
        error_messages={"required": "Enter a code, like balances.read."},
    )

    field_order = ["code", "name", "description", "category", "data_fields", "purposes", "sensitivity"]


class CapabilityForm(forms.Form):
    """A chatbot capability: what people can ask, the scopes it needs, the messages it sends."""

    name = forms.CharField(
        label="Name",
        max_length=120,
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
        return _lines(self.cleaned_data["sample_utterances"])

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

    code = forms.CharField(
        label="Code",
        max_length=50,
        help_text="How your servers name it, like check_balance: lowercase letters, digits and underscores. "
        "It cannot change later.",
        validators=[capability_code_validator],
        error_messages={"required": "Enter a code, like check_balance."},
    )

    field_order = ["code", "name", "description"]

    def service_values(self) -> dict[str, Any]:
        """Return the cleaned values without the code, which the service takes on its own."""
        values = super().service_values()
        values.pop("code")
        return values


class TermsAcceptanceForm(forms.Form):
    """A manager accepts the version of the terms they read, for their bank."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="I have read these terms and accept them for my bank",
        error_messages={"required": "Tick the box to confirm that you accept these terms for your bank."},
    )

    def __init__(self, *args: Any, partner_name: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if partner_name:
            self.fields["confirm"].label = f"I accept these terms for {partner_name}"


class ApiKeyForm(forms.Form):
    """A new API key: what it is for, and where it works."""

    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="Where the key is used, like 'Payments server'. It helps you tell keys apart later.",
        error_messages={"required": "Name the key after where it is used."},
    )
    environment = forms.ChoiceField(
        label="Environment",
        choices=PartnerApiKey.Environment.choices,
        widget=forms.RadioSelect,
        help_text="Sandbox keys reach only your test users. Live keys are for live banks.",
        error_messages={"required": "Choose sandbox or live."},
    )


class WebhookEndpointForm(forms.Form):
    """Where the platform sends the bank's webhooks, and which events."""

    url = forms.CharField(
        label="Address",
        max_length=500,
        help_text="A full https:// address on your servers, like https://api.bank.example/webhooks.",
        error_messages={"required": "Enter the address, starting with https://."},
    )
    description = forms.CharField(label="Description (optional)", max_length=200, required=False)
    event_types = OpenMultipleChoiceField(label="Events to send", choices=WebhookEvent.choices, required=False)


class WebhookSwitchForm(forms.Form):
    """Switch an endpoint on or off."""

    is_active = forms.TypedChoiceField(
        choices=[("on", "On"), ("off", "Off")], coerce=lambda value: value == "on", empty_value=None
    )
