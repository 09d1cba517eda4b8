"""Emails about an account (confirm a sign-up, "you already have an account"), and how many one address gets.

Sign-up and password reset answer the same page whatever the address, so what differs goes by
email to that address only. Each address gets at most `MAIL_BUDGET` such emails per lockout window,
counted in the shared cache, so nobody can use the forms to flood someone's mailbox.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .lockout import window
from .models import User

# Emails about one account, per address and window: a few resends are normal, ten are not.
MAIL_BUDGET = 3


class SignUpConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Tokens for the link that confirms a sign-up: void once confirmed, or once the password changes."""

    key_salt = "portal.account_mail.SignUpConfirmationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}{user.password}{user.awaiting_confirmation}{user.email}{timestamp}"


sign_up_tokens = SignUpConfirmationTokenGenerator()


def mail_budget_take(*, kind: str, address: str) -> bool:
    """Count one email of `kind` to `address`; return False once the address had its share this window."""
    key = f"account-mail:{kind}:{hashlib.sha256(address.strip().lower().encode()).hexdigest()}"
    seconds = int(window().total_seconds())
    cache.add(key, 0, timeout=seconds)
    try:
        sent = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        sent = 1
    return sent <= MAIL_BUDGET


def _send_after_commit(*, kind: str, to: str, subject: str, body: str) -> None:
    if not mail_budget_take(kind=kind, address=to):
        return
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=True))


def confirmation_link(user: User) -> str:
    """Return the absolute link that confirms `user`'s sign-up."""
    path = reverse(
        "sign-up-confirm",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": sign_up_tokens.make_token(user)},
    )
    return settings.PORTAL_SITE_URL.rstrip("/") + path


def send_sign_up_confirmation(user: User) -> None:
    """Email `user` the link that finishes their sign-up (after commit)."""
    body = (
        "Someone (we hope you) asked for an account on the bank partnership portal with this address.\n\n"
        f"To finish, open this link within {settings.PASSWORD_RESET_TIMEOUT // 86400} days:\n\n"
        f"{confirmation_link(user)}\n\n"
        "If it was not you, do nothing: without the link, no account is made.\n"
    )
    _send_after_commit(kind="sign_up", to=user.email, subject="Finish creating your account", body=body)


def send_already_have_an_account(user: User) -> None:
    """Tell `user` that someone tried to sign up with their address (after commit)."""
    site = settings.PORTAL_SITE_URL.rstrip("/")
    body = (
        "Someone (we hope you) tried to create an account on the bank partnership portal with this address, "
        "but you already have one. Nothing was changed and no second account was made.\n\n"
        f"Sign in: {site}{reverse('login')}\n"
        f"Forgotten your password? Choose a new one: {site}{reverse('password_reset')}\n\n"
        "If it was not you, you can ignore this email.\n"
    )
    _send_after_commit(kind="sign_up", to=user.email, subject="You already have an account", body=body)
