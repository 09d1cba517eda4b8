"""The forms of data requests: the one compliance staff fill in to log a request, and erasure's confirmation."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.models import User

from .models import DataRequest


class DataRequestForm(forms.Form):
    """Log a request about one person, found by their email address."""

    email = forms.EmailField(label="The person's email address", max_length=254)
    kind = forms.ChoiceField(
        label="What they asked for", choices=DataRequest.Kind.choices, widget=forms.RadioSelect, initial="archive"
    )
    reason = forms.CharField(
        label="Why",
        max_length=300,
        help_text="The basis, for the trail: their letter, a regulator's question. Do not repeat their name here.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    reference = forms.CharField(label="Reference (optional)", max_length=100, required=False)

    def clean_email(self) -> User:
        email = self.cleaned_data["email"].strip().lower()
        person = User.objects.filter(email__iexact=email).first()
        if person is None:
            raise forms.ValidationError("No one has an account with this address. Check it and try again.")
        return person

    def cleaned(self) -> dict[str, Any]:
        """Return the fields as the service takes them."""
        data = self.cleaned_data
        return {"person": data["email"], "kind": data["kind"], "reason": data["reason"], "reference": data["reference"]}


class ErasureConfirmForm(forms.Form):
    """Erasure cannot be undone: staff tick that they mean it."""

    confirm = forms.BooleanField(
        label="I understand: this person's data will be erased for good, and they will no longer be able to sign in.",
    )
