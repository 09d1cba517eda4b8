"""The support lookup's form: whom to look up, and why."""

from __future__ import annotations

from django import forms


class SupportLookupForm(forms.Form):
    """An email address and the reason, which the audit trail keeps with the lookup."""

    email = forms.EmailField(
        label="The person's email address",
        max_length=254,
        error_messages={"required": "Enter the email address the person signs in with."},
    )
    reason = forms.CharField(
        label="Why you look them up",
        min_length=10,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example the ticket number and what they asked. It is kept in the audit trail.",
        error_messages={
            "required": "Say why you look this person up.",
            "min_length": "Say a little more: at least 10 characters, such as the ticket number and the question.",
        },
    )
