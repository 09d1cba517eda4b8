"""`seed_demo` builds the demo world once, however often it runs, and prints what to sign in with."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from compliance.audit import audit_seal, audit_verify
from partners.models import Partner, PartnerApiKey
from portal.models import User
from portal.tests.signing_in import code_for_key_text


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
    ("role", "home"),
    [("user", "/me/"), ("manager", "/bank/"), ("staff", "/staff/banks/"), ("compliance", "/compliance/")],
)
def test_every_printed_login_works_and_lands_home(client: Client, role: str, home: str) -> None:
    login = _seed()["logins"][role]
    assert isinstance(login, dict)
    assert client.login(username=login["email"], password=login["password"])
    if role == "user":
        assert "totp_secret" not in login
        assert client.get("/home/").url == home
        return
    # Staff and bank logins give the code `demo_totp` prints, which their printed secret also yields.
    assert client.get("/home/").url == "/accounts/second-factor/"
    out = StringIO()
    call_command("demo_totp", login["email"], stdout=out, stderr=StringIO())
    code = out.getvalue().strip()
    assert code == code_for_key_text(str(login["totp_secret"]))
    assert client.post("/accounts/second-factor/", {"code": code}).url == "/home/"
    assert client.get("/home/").url == home


@pytest.mark.django_db
def test_demo_secrets_stay_the_same_across_databases() -> None:
    secrets = {role: login.get("totp_secret") for role, login in _seed()["logins"].items()}
    assert secrets == {
        "user": None,
        "manager": "GONQKFOABO2OWLJYYOPBR435R6LTKX7U",
        "staff": "HYJU3PYJVKON4AS2IYESJL75UOFFU3TR",
        "compliance": "MBCIC4IWZ7LKSMGG6JUXEM2ZSOKGR7RL",
    }


def test_demo_totp_names_the_demo_logins_when_asked_for_another() -> None:
    with pytest.raises(CommandError, match=re.escape("manager (manager@demo.example)")):
        call_command("demo_totp", "user", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_printed_api_key_calls_the_api(client: Client) -> None:
    keys = _seed()["api_keys"]
    for name, environment in (("demo-bank", "live"), ("demo-bank-sandbox", "sandbox")):
        response = client.get("/api/v1/partner/", headers={"authorization": f"Bearer {keys[name]}"})
        assert response.status_code == 200
        assert response.json()["slug"] == "demo-bank"
        assert response.json()["key_environment"] == environment
