"""`seed_demo` builds the demo world once, however often it runs, and prints what to sign in with."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from compliance.audit import audit_seal, audit_verify
from partners.models import Partner, PartnerApiKey
from portal.models import User


def _seed() -> dict[str, dict[str, object]]:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    result: dict[str, dict[str, object]] = json.loads(out.getvalue())
    return result


@pytest.mark.django_db
def test_seed_is_idempotent_and_keeps_keys_stable() -> None:
    first = _seed()
    counts = (User.objects.count(), Partner.objects.count(), PartnerApiKey.objects.count())
    second = _seed()
    assert first == second
    assert counts == (User.objects.count(), Partner.objects.count(), PartnerApiKey.objects.count())
    assert set(first["logins"]) == {"user", "manager", "staff", "compliance"}
    assert audit_seal() > 0
    assert audit_verify().ok


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "home"), [("user", "/me/"), ("staff", "/staff/banks/"), ("compliance", "/compliance/")]
)
def test_every_printed_login_works_and_lands_home(client: Client, role: str, home: str) -> None:
    login = _seed()["logins"][role]
    assert isinstance(login, dict)
    assert client.login(username=login["email"], password=login["password"])
    assert client.get("/home/").url == home


@pytest.mark.django_db
def test_printed_api_key_calls_the_api(client: Client) -> None:
    keys = _seed()["api_keys"]
    for name, environment in (("demo-bank", "live"), ("demo-bank-sandbox", "sandbox")):
        response = client.get("/api/v1/partner/", headers={"authorization": f"Bearer {keys[name]}"})
        assert response.status_code == 200
        assert response.json()["slug"] == "demo-bank"
        assert response.json()["key_environment"] == environment
