"""Canaries: a password, an API key, a session id, a TOTP secret and an account number, planted on the way
through the portal, never come back out in a log line, an audit entry or a response — except the one
page that shows a new secret once (the key page after "Create", the set-up page before the app is confirmed).

Each canary is used as a real person or bank would use it: the password to sign in (and wrongly), the key
on the API (and a near miss), the session on every page, the TOTP key to set up and confirm an app, the
account number in an event a careless bank posts.
"""

from __future__ import annotations

import logging
import re
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.models import AuditEntry
from consent.tests.factories import AccountLinkFactory
from partners.models import Partner
from partners.tests.factories import PartnerFactory, member_of
from portal.second_factor.views import SETUP_KEY_SESSION_KEY
from portal.tests.factories import UserFactory
from portal.tests.signing_in import sign_in_verified

PASSWORD = "Canary-Passphrase-7f3a9c1e-never-shown"
WRONG_PASSWORD = "Canary-Wrong-Passphrase-5b2d8e40"
IBAN = "GB29NWBK60161331926819"


@dataclass
class Seen:
    """Everything the portal said during the test: responses (with which step made them) and log lines."""

    responses: list[tuple[str, str]] = field(default_factory=list)

    def call(self, step: str, client: Client, method: str, path: str, **kwargs: Any) -> Any:
        response = getattr(client, method)(path, **kwargs)
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        body = b"".join(response.streaming_content) if response.streaming else response.content
        self.responses.append((step, headers + "\n\n" + body.decode("utf-8", "replace")))
        return response


def _found(canary: str, texts: list[tuple[str, str]]) -> list[str]:
    return [step for step, text in texts if canary in text]


@pytest.mark.django_db
def test_no_secret_leaves_through_logs_audit_entries_or_responses(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen = Seen()
    bank = PartnerFactory(status=Partner.Status.LIVE)
    manager = member_of(bank)
    manager.set_password(PASSWORD)
    manager.save(update_fields=["password"])
    person = UserFactory()
    link = AccountLinkFactory(user=person, partner=bank)

    # The password: a wrong one, then the right one, at the sign-in form.
    web = Client()
    seen.call(
        "wrong password", web, "post", "/accounts/login/", data={"username": manager.email, "password": WRONG_PASSWORD}
    )
    seen.call("sign in", web, "post", "/accounts/login/", data={"username": manager.email, "password": PASSWORD})

    # The TOTP key: shown on the set-up page until the app is confirmed, then never again.
    seen.call("set-up page", web, "get", "/accounts/second-factor/set-up/")
    key = web.session[SETUP_KEY_SESSION_KEY]
    totp = TOTP(unhexlify(key))
    seen.call("confirm app", web, "post", "/accounts/second-factor/set-up/", data={"code": f"{totp.token():06d}"})
    assert TOTPDevice.objects.filter(user=manager, confirmed=True).exists()
    for path in ("/accounts/second-factor/recovery-codes/", "/accounts/security/", f"/bank/{bank.slug}/"):
        seen.call(f"after set-up {path}", web, "get", path)

    # The API key: made on the bank's page (shown there once), then used, and a near miss refused.
    created = seen.call(
        "create key", web, "post", f"/bank/{bank.slug}/keys/", data={"name": "Payments", "environment": "live"}
    )
    raw_key = re.search(r"pbk_live_[A-Za-z0-9_-]{20,}", created.content.decode()).group(0)
    seen.call("key list", web, "get", f"/bank/{bank.slug}/keys/")
    api = Client(headers={"authorization": f"Bearer {raw_key}"})
    seen.call("api partner", api, "get", "/api/v1/partner/")
    near_miss = raw_key[:-4] + ("AAAA" if not raw_key.endswith("AAAA") else "BBBB")
    seen.call("api near miss", Client(headers={"authorization": f"Bearer {near_miss}"}), "get", "/api/v1/partner/")

    # The account number: a careless bank posts it as the mask; it is refused and not repeated.
    event = {
        "type": "balance_update",
        "link": link.pk,
        "event_id": "canary-1",
        "payload": {"account_mask": IBAN, "balance": "1.00", "available": "1.00", "currency": "GBP",
                    "as_of": "2026-01-01T09:00:00Z"},
    }  # fmt: skip
    refused = seen.call("api event", api, "post", "/api/v1/events/", data=event, content_type="application/json")
    assert refused.status_code == 400

    # The session: used on every page above; and the person's own pages.
    session_id = web.cookies["sessionid"].value
    mine = sign_in_verified(Client(), person)
    for path in ("/me/", "/me/inbox/", "/accounts/security/"):
        seen.call(f"person {path}", mine, "get", path)

    logs = [("log", record.getMessage() + " " + str(record.__dict__.get("args", ""))) for record in caplog.records]
    audit = [
        (f"audit {entry.action}", " ".join([entry.actor_label, entry.target_label, entry.data_json, entry.ip or ""]))
        for entry in AuditEntry.objects.all()
    ]
    key_text = b32encode(unhexlify(key)).decode().rstrip("=")
    shown = " ".join(key_text[i : i + 4] for i in range(0, len(key_text), 4))
    canaries = {
        "password": (PASSWORD, set()),
        "wrong password": (WRONG_PASSWORD, set()),
        "API key": (raw_key, {"create key"}),
        "near-miss API key": (near_miss, set()),
        "TOTP key (hex)": (key, set()),
        "TOTP key (base32)": (key_text, set()),
        "TOTP key (as shown)": (shown, {"set-up page"}),
        "account number": (IBAN, set()),
    }
    leaks = {}
    for name, (canary, allowed) in canaries.items():
        where = [step for step in _found(canary, seen.responses + logs + audit) if step not in allowed]
        if where:
            leaks[name] = where
    # The session id travels in its cookie and nowhere else: no body, no other header, no log, no entry.
    without_cookies = [(step, re.sub(r"(?im)^set-cookie:.*$", "", text)) for step, text in seen.responses]
    if where := _found(session_id, without_cookies + logs + audit):
        leaks["session id"] = where
    assert not leaks, f"secrets came back out: {leaks}"
    # The canaries really were on the way: the allowed pages did show them.
    assert _found(raw_key, seen.responses) == ["create key"]
    assert _found(shown, seen.responses) == ["set-up page"]
    assert any(step == "audit auth.login_failed" for step, _ in audit)
