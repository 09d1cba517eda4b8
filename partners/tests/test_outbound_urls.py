"""Save time: webhook and capability URLs whose host resolves to any non-public address are refused (`unsafe_url`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from partners.models import Partner, WebhookEndpoint
from partners.tests.factories import PartnerFactory, api_key_for, capability_for, member_of
from portal import outbound_guard
from portal.outbound_guard import StaticResolver
from portal.tests.signing_in import sign_in_verified
from portal.tests.test_outbound_guard import NON_PUBLIC

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank() -> Partner:
    partner = PartnerFactory()
    capability_for(partner)
    return partner


def _send(client: Client, bank: Partner, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    send = client.post if method == "post" else client.patch
    response = send(
        f"/api/v1/{path}",
        body,
        content_type="application/json",
        headers={"authorization": f"Bearer {api_key_for(bank)}"},
    )
    return response.status_code, response.json()


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
@pytest.mark.parametrize(("address", "kind"), NON_PUBLIC)
def test_names_resolving_to_non_public_addresses_are_refused(
    client: Client, bank: Partner, monkeypatch: Any, settings: Any, address: str, kind: str, production: bool
) -> None:
    settings.PORTAL_ALLOW_INSECURE_OUTBOUND = not production
    monkeypatch.setattr(outbound_guard, "resolver", StaticResolver({"hooks.bank.test": [address]}))
    status, body = _send(
        client,
        bank,
        "post",
        "webhook-endpoints/",
        {"url": "https://hooks.bank.test/events", "event_types": ["consent.revoked"]},
    )
    if kind == "loopback" and not production:  # the development exception: a receiver on this machine
        assert status == 201
        return
    assert (status, body["error"]["code"]) == (400, "unsafe_url")
    assert f"which is a {kind} address" in body["error"]["message"]
    assert "public internet" in body["error"]["message"]
    status, body = _send(
        client, bank, "patch", "capabilities/check_balance/", {"webhook_url": "https://hooks.bank.test/bot"}
    )
    assert (status, body["error"]["code"]) == (400, "unsafe_url")
    assert body["error"]["fields"]["webhook_url"]
    assert not WebhookEndpoint.objects.filter(partner=bank).exists()


def test_a_public_name_is_saved_and_an_unresolvable_one_is_refused(
    client: Client, bank: Partner, monkeypatch: Any
) -> None:
    monkeypatch.setattr(outbound_guard, "resolver", StaticResolver({"hooks.bank.test": ["93.184.215.14"]}))
    body = {"url": "https://hooks.bank.test/events", "event_types": ["consent.revoked"]}
    assert _send(client, bank, "post", "webhook-endpoints/", body)[0] == 201
    status, answer = _send(client, bank, "post", "webhook-endpoints/", {**body, "url": "https://gone.bank.test/x"})
    assert (status, answer["error"]["code"]) == (400, "unsafe_url")
    assert "could not be found in DNS" in answer["error"]["message"]


def test_production_refuses_http_and_loopback(client: Client, bank: Partner, settings: Any) -> None:
    settings.PORTAL_ALLOW_INSECURE_OUTBOUND = False
    for url, code in (
        ("http://hooks.example/events", "insecure_url"),
        ("https://127.0.0.1/events", "unsafe_url"),
        ("https://localhost/events", "unsafe_url"),
        ("https://[::ffff:127.0.0.1]/events", "unsafe_url"),
    ):
        status, body = _send(
            client, bank, "post", "webhook-endpoints/", {"url": url, "event_types": ["consent.revoked"]}
        )
        assert (status, body["error"]["code"]) == (400, code), url
    settings.PORTAL_ALLOW_INSECURE_OUTBOUND = True
    status, _ = _send(
        client,
        bank,
        "post",
        "webhook-endpoints/",
        {"url": "http://127.0.0.1:9/events", "event_types": ["consent.revoked"]},
    )
    assert status == 201


@pytest.mark.parametrize("allowed", [True, False])
def test_the_webhook_page_says_when_the_development_exception_is_on(settings: Any, allowed: bool) -> None:
    settings.PORTAL_ALLOW_INSECURE_OUTBOUND = allowed
    partner = PartnerFactory()
    client = Client()
    sign_in_verified(client, member_of(partner))
    page = client.get(reverse("partners:webhooks", kwargs={"slug": partner.slug})).content.decode()
    assert ('id="insecure-outbound-notice"' in page) is allowed
    assert ("PORTAL_ALLOW_INSECURE_OUTBOUND" in page) is allowed
