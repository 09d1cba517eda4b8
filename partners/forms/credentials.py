"""Forms of how a bank's servers and the platform reach each other: API keys and webhook endpoints."""

from __future__ import annotations

from django import forms

from ..models import PartnerApiKey, WebhookEvent
from .fields import OpenMultipleChoiceField


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
