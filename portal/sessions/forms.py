"""The sign-in form, with the end user's choice to stay signed in on this device."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .policy import limits_in_words

WORDS = limits_in_words()


class SignInForm(AuthenticationForm):
    """Email and password, and "Keep me signed in" (off unless ticked: staff and bank accounts never are)."""

    keep_signed_in = forms.BooleanField(
        label=WORDS["kept_label"],
        required=False,
        help_text=WORDS["kept_hint"],
    )
