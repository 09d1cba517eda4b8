"""Forms of the public onboarding pages: a bank applies; an invited person creates their account."""

from __future__ import annotations

from typing import Any

from django import forms
from django_countries import countries

from portal.forms import SignUpForm
from portal.validators import validate_no_bidi_controls

from ..models import Partner
from .fields import email_field


def _country_choices() -> list[tuple[str, str]]:
    return [("", "Choose a country"), *((str(code), str(name)) for code, name in countries)]


class PartnerApplicationForm(forms.Form):
    """A bank applies: who it is, how a regulator knows it, and who will manage it here."""

    legal_name = forms.CharField(
        label="Bank's legal name",
        max_length=200,
        validators=[validate_no_bidi_controls],
        help_text="As it is registered with your regulator.",
        error_messages={"required": "Enter the bank's legal name."},
    )
    country = forms.ChoiceField(
        label="Country of registration",
        choices=_country_choices,
        error_messages={"required": "Choose the country where the bank is registered."},
    )
    identifier_type = forms.ChoiceField(
        label="Type of identifier",
        choices=[("", "Choose one"), *Partner.IdentifierType.choices],
        error_messages={"required": "Choose whether you give an LEI or a regulator's reference."},
    )
    identifier = forms.CharField(
        label="Identifier",
        max_length=64,
        help_text="An LEI is 20 letters and digits, like 5493001KJTIIGC8Y1R12.",
        error_messages={"required": "Enter the bank's LEI or regulator's reference number."},
    )
    website = forms.URLField(
        label="Bank's website",
        max_length=200,
        assume_scheme="https",
        error_messages={
            "required": "Enter the bank's website address.",
            "invalid": "Enter a web address like https://www.example-bank.com.",
        },
    )
    security_contact = email_field(
        label="Security contact email",
        help_text="Where we report security problems. A team address is best.",
        required="Enter the email address of the bank's security team.",
        example="security@example-bank.com",
    )
    manager_email = email_field(
        label="Your work email address",
        help_text="You will be the bank's first partnership manager. We send a link to this address to confirm it.",
        required="Enter your work email address.",
        example="name@example-bank.com",
    )

    def clean_manager_email(self) -> str:
        return str(self.cleaned_data["manager_email"]).strip().lower()


class InvitationAccountForm(SignUpForm):
    """An invited person creates their account; the email address is the one the invitation went to."""

    full_name = forms.CharField(
        label="Full name",
        max_length=150,
        validators=[validate_no_bidi_controls],
        help_text="Your colleagues at the bank see this name.",
        error_messages={"required": "Enter your full name."},
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invited_email = email
        del self.fields["email"]

    def clean(self) -> dict[str, Any]:
        # The password must not resemble the (fixed) email address either.
        self.cleaned_data["email"] = self.invited_email
        return super().clean()
