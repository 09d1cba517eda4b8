"""Forms for site pages: sign-up, audited password forms; telling a form's resend from its first sending."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.core.cache import cache
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest

from .lockout import serialized
from .models import User
from .services import user_change_password, user_reset_password
from .validators import validate_no_bidi_controls


def bound_password(field: forms.Field) -> forms.Field:
    """Return `field` refusing more than PORTAL_PASSWORD_MAX_LENGTH characters, before anything hashes it."""
    limit = settings.PORTAL_PASSWORD_MAX_LENGTH
    field.validators.append(MaxLengthValidator(limit))
    field.widget.attrs["maxlength"] = str(limit)
    field.error_messages["max_length"] = (
        f"Use a password of at most {limit} characters. A long passphrase is fine; this is longer."
    )
    return field


class LockoutSignInMixin:
    """Check the password under the lockout: one try at a time per account and address, each failure counted.

    The failure (axes' record, the audit entry) must commit even though the form then says no, so
    the refusal is raised only after the lockout's transaction has ended.
    """

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        refusal: forms.ValidationError | None = None
        assert self.request is not None, "the lockout needs the request: pass it to the form"
        with serialized(self.request, username=str(self.cleaned_data.get("username") or "")):
            try:
                cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
            except forms.ValidationError as error:
                refusal = error
        if refusal is not None:
            raise refusal
        return cleaned


class SignInForm(LockoutSignInMixin, AuthenticationForm):
    """Django's sign-in form, under the lockout, refusing an overlong password before it is checked (or hashed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bound_password(self.fields["password"])


class AdminSignInForm(LockoutSignInMixin, AdminAuthenticationForm):
    """The admin's sign-in form, with the same lockout and bound on the password as the portal's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bound_password(self.fields["password"])


class SignUpForm(forms.Form):
    """An end user creates an account: email, name, password twice."""

    email = forms.EmailField(
        label="Email address",
        help_text="You will sign in with this address.",
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter an email address in the right format, like name@example.com.",
        },
    )
    full_name = forms.CharField(
        label="Full name", max_length=150, required=False, validators=[validate_no_bidi_controls]
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters: a few words you will remember make a good one. Not a common password.",
        error_messages={"required": "Enter a password."},
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Enter the same password again."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bound_password(self.fields["password1"])
        bound_password(self.fields["password2"])

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords are different. Type the same password twice.")
        elif password1:
            candidate = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class AuditedPasswordChangeForm(PasswordChangeForm):
    """Django's password change form, saving through the audited service; `ip` and the session come from the view."""

    def __init__(
        self, user: User, *args: Any, ip: str | None = None, session_key: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(user, *args, **kwargs)
        self.ip = ip
        self.session_key = session_key
        for name in ("old_password", "new_password1", "new_password2"):
            if name in self.fields:
                bound_password(self.fields[name])

    def save(self, commit: bool = True) -> User:
        assert commit, "the service saves the password and its audit entry together"
        return user_change_password(
            user=self.user, password=self.cleaned_data["new_password1"], ip=self.ip, keep_session_key=self.session_key
        )


class AuditedSetPasswordForm(SetPasswordForm):
    """Django's form behind a password reset link, saving through the audited service."""

    def __init__(self, user: User, *args: Any, ip: str | None = None, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.ip = ip
        for name in ("old_password", "new_password1", "new_password2"):
            if name in self.fields:
                bound_password(self.fields[name])

    def save(self, commit: bool = True) -> User:
        assert commit, "the service saves the password and its audit entry together"
        return user_reset_password(user=self.user, password=self.cleaned_data["new_password1"], ip=self.ip)


class LimitedPasswordResetForm(PasswordResetForm):
    """Django's reset request, sending at most `account_mail.MAIL_BUDGET` links per address and window."""

    def get_users(self, email: str) -> Any:
        from .account_mail import mail_budget_take

        users = list(super().get_users(email))
        if users and not mail_budget_take(kind="password_reset", address=email):
            return []
        return users


def sent_before(request: HttpRequest) -> bool:
    """Return True when this form (its `{% once_field %}` token) was sent before: a reload or a double click.

    For forms whose answer cannot be repeated, like a secret shown once: the view says so instead of
    making another. The token is remembered for a day, per person, in the cache.
    """
    token = request.POST.get("once", "")[:64]
    if not token:
        return False
    return not cache.add(f"form-once:{request.user.pk}:{token}", True, timeout=24 * 3600)


class SignUpConfirmForm(forms.Form):
    """The emailed link's page: the password chosen at sign-up, so whoever started the sign-up must finish it.

    Possession of the link proves the address; the password proves the sign-up was this person's, so
    someone who signed up with another person's address cannot have that person open the account
    with a password the intruder knows.
    """

    password = bound_password(
        forms.CharField(
            label="The password you chose",
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        )
    )
