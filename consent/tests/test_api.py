"""The partner API's consents: only the calling bank's, exact fields, filters, pinned query counts, attestation."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from consent.models import AccountLink, ConsentGrant
from consent.services import consent_revoke, link_unlink
from consent.tests.factories import grant_for, link_for, live_bank
from partners.models import Partner
from partners.tests.factories import api_key_for, published_scope
from portal.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FIELDS = [
    "id",
    "link",
    "account_ref",
    "scope",
    "scope_version",
    "purpose",
    "message_types",
    "status",
    "granted_at",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "deletion_attested_at",
]


@pytest.fixture
def bank() -> Partner:
    bank = live_bank()
    published_scope(
        bank,
        "card_transactions.read",
        category="card_transactions",
        purposes=["receipts_shipping"],
        max_duration_days=365,
    )
    return bank


@pytest.fixture
def api(bank: Partner) -> Client:
    return Client(headers={"authorization": f"Bearer {api_key_for(bank)}"})


@pytest.fixture
def link(bank: Partner) -> AccountLink:
    return link_for(UserFactory(), bank)


def test_the_list_shows_exactly_the_contract_fields_of_this_banks_grants(
    api: Client, bank: Partner, link: AccountLink
) -> None:
    grant = grant_for(link, bank.scopes.get(code="card_transactions.read"), message_types=["receipt"])
    grant_for(link_for(UserFactory(), live_bank()))  # another bank's
    body = api.get("/api/v1/consents/").json()
    assert body["count"] == 1
    [item] = body["results"]
    assert list(item) == FIELDS
    assert item["id"] == grant.pk
    assert item["link"] == link.pk
    assert item["account_ref"] == link.account_ref  # the bank's own reference, so it knows which account
    assert item["scope"] == "card_transactions.read"
    assert item["scope_version"] == 1
    assert item["purpose"] == "receipts_shipping"
    assert item["message_types"] == ["receipt"]
    assert item["status"] == "active"
    assert item["revoked_at"] is None
    assert item["revoked_by"] is None
    assert item["deletion_attested_at"] is None


def test_the_api_shows_each_state_and_filters_by_status_and_link(api: Client, bank: Partner, link: AccountLink) -> None:
    kept = grant_for(link)
    ended = grant_for(link, bank.scopes.get(code="card_transactions.read"))
    other_link = link_for(UserFactory(), bank)
    other = grant_for(other_link)
    consent_revoke(grant=ended, actor=link.user)
    revoked = api.get("/api/v1/consents/", {"status": "revoked"}).json()["results"]
    assert [(g["id"], g["revoked_by"]) for g in revoked] == [(ended.pk, "user")]
    on_link = api.get("/api/v1/consents/", {"link": link.pk}).json()["results"]
    assert {g["id"] for g in on_link} == {kept.pk, ended.pk}
    assert {g["id"] for g in api.get("/api/v1/consents/", {"status": "active"}).json()["results"]} == {
        kept.pk,
        other.pk,
    }
    link_unlink(link=other_link, actor=other_link.user)
    assert api.get(f"/api/v1/consents/{other.pk}/").json()["status"] == "revoked"


@pytest.mark.parametrize("query", [{"status": "granted"}, {"link": "abc"}, {"link": "0"}, {"page_size": "0"}])
def test_bad_filters_are_refused_with_the_error_envelope(api: Client, query: dict[str, str]) -> None:
    response = api.get("/api/v1/consents/", query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_another_banks_grant_does_not_exist_for_this_bank(api: Client) -> None:
    foreign = grant_for(link_for(UserFactory(), live_bank()))
    response = api.get(f"/api/v1/consents/{foreign.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api.post(f"/api/v1/consents/{foreign.pk}/deletion-attestation/").status_code == 404


def test_the_list_query_count_does_not_grow_with_grants(
    api: Client, bank: Partner, django_assert_max_num_queries: Any
) -> None:
    for _ in range(2):
        grant_for(link_for(UserFactory(), bank))
    api.get("/api/v1/consents/")  # the key's last-used time is written once a minute at most
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/v1/consents/").status_code == 200
    for _ in range(48):
        grant_for(link_for(UserFactory(), bank))
    with django_assert_max_num_queries(len(few)):
        body = api.get("/api/v1/consents/").json()
    assert body["count"] == 50
    assert len(body["results"]) == 50


def test_the_list_is_paginated(api: Client, bank: Partner) -> None:
    for _ in range(3):
        grant_for(link_for(UserFactory(), bank))
    page = api.get("/api/v1/consents/", {"page_size": 2}).json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"]


def test_deletion_attestation_after_revocation_once(api: Client, link: AccountLink) -> None:
    grant = grant_for(link)
    url = f"/api/v1/consents/{grant.pk}/deletion-attestation/"
    active = api.post(url, {}, content_type="application/json")
    assert active.status_code == 409
    assert active.json()["error"]["code"] == "consent_active"
    consent_revoke(grant=grant, actor=link.user)
    response = api.post(url, {"note": "Deleted from the warehouse."}, content_type="application/json")
    assert response.status_code == 200
    attested_at = response.json()["deletion_attested_at"]
    assert attested_at is not None
    again = api.post(url, content_type="application/json")
    assert again.status_code == 200
    assert again.json()["deletion_attested_at"] == attested_at
    grant.refresh_from_db()
    assert grant.deletion_attested_at is not None
    assert ConsentGrant.objects.get(pk=grant.pk).events.filter(kind="deletion_attested").count() == 1


def test_deletion_attestation_refuses_unknown_fields(api: Client, link: AccountLink) -> None:
    grant = grant_for(link)
    consent_revoke(grant=grant, actor=link.user)
    response = api.post(
        f"/api/v1/consents/{grant.pk}/deletion-attestation/", {"deleted": True}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"deleted": ["This field is not part of the contract; leave it out."]}


def test_consents_need_an_api_key(link: AccountLink) -> None:
    response = Client().get("/api/v1/consents/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
