"""The sign-in form, with the end user's choice to stay signed in on this device."""

from __future__ import annotations

from django import forms

from portal.forms import SignInForm as LockedSignInForm

from .policy import limits_in_words

WORDS = limits_in_words()


class SignInForm(LockedSignInForm):
    """Email and password under the lockout, and "Keep me signed in" (off unless ticked: staff and bank
    accounts never are)."""

    keep_signed_in = forms.BooleanField(
        label=WORDS["kept_label"],
        required=False,
        help_text=WORDS["kept_hint"],
    )
