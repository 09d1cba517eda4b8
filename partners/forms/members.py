"""Forms of what only a bank's managers do: inviting people and accepting the usage terms."""

from __future__ import annotations

from typing import Any

from django import forms

from ..models import PartnerMembership
from .fields import email_field


class InvitationForm(forms.Form):
    """A manager invites a person to the bank with a role."""

    email = email_field(
        label="Email address",
        help_text="We email an invitation link to this address. It works once, for 7 days.",
        required="Enter the email address of the person to invite.",
        example="name@bank.example",
    )
    role = forms.ChoiceField(
        label="Role",
        choices=PartnerMembership.Role.choices,
        widget=forms.RadioSelect,
        help_text="Managers accept terms and invite people; developers manage the catalog, keys and webhooks; "
        "compliance contacts can read everything and change nothing.",
        error_messages={"required": "Choose a role."},
    )


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
