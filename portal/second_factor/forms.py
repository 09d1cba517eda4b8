"""The second factor's forms: a code to sign in with, and the code that confirms a new authenticator app."""

from __future__ import annotations

from django import forms


class VerifyForm(forms.Form):
    """The code from the person's authenticator app, or one of their recovery codes."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code your authenticator app shows now. Lost your phone? Enter one of your "
        "recovery codes instead.",
        error_messages={"required": "Enter the code from your authenticator app, or a recovery code."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "none"}
        ),
    )


class EnrolForm(forms.Form):
    """The code a newly added authenticator app shows, which proves the app holds the key."""

    code = forms.CharField(
        label="Code from the app",
        max_length=12,
        help_text="After you add the key, your app shows a 6-digit code. Enter it here.",
        error_messages={"required": "Enter the 6-digit code your app shows."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}),
    )
