"""Signing people in for tests as the portal requires: verified by a second factor where they have or need one."""

from __future__ import annotations

import re
import time
from base64 import b32decode
from typing import Any

from django.core import mail
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import User
from portal.second_factor.rules import second_factor_enabled, second_factor_required
from portal.tests.factories import PASSWORD

VERIFY_PATH = "/accounts/second-factor/"


def totp_device_for(user: User) -> TOTPDevice:
    """Return the person's confirmed authenticator app, adding one as if they had set it up."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test app", confirmed=True)


def totp_code(device: TOTPDevice) -> str:
    """Return a code `device` accepts now: this step's, or the next step's once this step's code was used."""
    device.refresh_from_db()
    while True:
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        ahead = device.last_t + 1 - totp.t()  # steps until a code not used yet
        if ahead <= 1:  # the server accepts one step ahead of its clock
            totp.time += max(ahead, 0) * device.step
            return f"{totp.token():0{device.digits}d}"
        time.sleep(1)


def code_for_key_text(key_text: str) -> str:
    """Return the code an authenticator app shows now for a key typed from the set-up page."""
    compact = "".join(key_text.split()).upper()
    key = b32decode(compact + "=" * (-len(compact) % 8))
    totp = TOTP(key)
    totp.time = time.time()
    return f"{totp.token():06d}"


def needs_code(user: User) -> bool:
    """Return True when `user` is asked for a code after their password (roles read afresh)."""
    user.__dict__.pop("roles", None)
    return second_factor_required(user) or second_factor_enabled(user)


def sign_in_verified(client: Client, user: User) -> Client:
    """Sign `user` in on `client` as after password and code: staff and bank members get an app if they have none.

    The session is verified by a real device, exactly as the code page leaves it, so every page
    behaves as for a person who signed in properly. End users without an app just sign in.
    """
    client.force_login(user)
    if needs_code(user):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = totp_device_for(user).persistent_id
        session.save()
    return client


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """In the browser, sign in through the login form and then the code page, as a person would.

    A person whose role needs a second factor is given an authenticator app first, as if they had
    set one up before; the code typed is the one their app would show.
    """
    user = User.objects.filter(email__iexact=email).first()
    device = totp_device_for(user) if user is not None and needs_code(user) else None
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if device is not None and page.url.split("?")[0].endswith(VERIFY_PATH):
        page.get_by_label("Code").fill(totp_code(device))
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()


def sign_up_link(email: str) -> str:
    """Return the path of the newest sign-up link emailed to `email` (the locmem outbox)."""
    for message in reversed(mail.outbox):
        found = re.search(r"https?://[^/\s]+(/accounts/sign-up/confirm/\S+/)", message.body)
        if email in message.to and found:
            return found.group(1)
    raise AssertionError(f"no sign-up link was emailed to {email}")


def confirm_sign_up(page: Any, email: str, password: str = PASSWORD) -> None:
    """In the browser, open the emailed sign-up link and confirm with the password chosen, as the new person would."""
    page.goto(sign_up_link(email))
    page.get_by_label("The password you chose").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and sign in").click()
