"""`seed_demo` gives the demo user a linked account with active grants, once however often it runs."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from consent.models import AccountLink, ConsentGrant
from consent.rules import consent_check
from portal.management.commands.seed_demo import (
    DEMO_API_KEY,
    DEMO_BANK_SLUG,
    DEMO_LOGINS,
    DEMO_SANDBOX_API_KEY,
    demo_password,
)

pytestmark = pytest.mark.django_db


def test_the_demo_user_has_a_linked_bank_with_active_grants_right_after_seeding(client: Client) -> None:
    call_command("seed_demo", "--json", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", "--json", stdout=open("/dev/null", "w"))  # noqa: SIM115
    link = AccountLink.objects.get(user__email=DEMO_LOGINS["user"]["email"], partner__slug=DEMO_BANK_SLUG)
    grants = ConsentGrant.objects.filter(link=link, status="active")
    assert sorted(grants.values_list("scope__code", "purpose")) == [
        ("balances.read", "account_updates"),
        ("balances.read", "customer_service"),  # a newcomer can chat with the demo bot at once
        ("card_transactions.read", "receipts_shipping"),
        ("fraud_alerts.push", "fraud_alerts"),
    ]
    assert consent_check(partner_id=link.partner_id, link_id=link.pk, message_type="fraud_alert")
    assert consent_check(partner_id=link.partner_id, link_id=link.pk, message_type="chat_reply")
    assert client.login(username=DEMO_LOGINS["user"]["email"], password=demo_password("user"))
    assert "Demo Bank plc" in client.get("/me/").content.decode()
    api = client.get("/api/v1/consents/", headers={"authorization": f"Bearer {DEMO_API_KEY}"})
    assert api.json()["count"] == 4
    # The sandbox key reaches the bank's test users (its members) only: not the demo user.
    sandbox = client.get("/api/v1/consents/", headers={"authorization": f"Bearer {DEMO_SANDBOX_API_KEY}"})
    assert sandbox.json()["count"] == 0
