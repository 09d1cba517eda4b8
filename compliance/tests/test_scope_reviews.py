"""Compliance staff read high-sensitivity scope versions and approve them or send them back."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from compliance.models import AuditEntry
from partners.models import DataScopeVersion
from partners.services import scope_create, scope_publish, scope_update
from partners.tests.factories import SCOPE_CONTENT, PartnerFactory, member_of, published_scope
from portal.tests.factories import ComplianceStaffFactory, PlatformStaffFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db


def text(html: str) -> str:
    """Return what a person reads in `html`: no tags, entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def reviewer_client(client: Client) -> Client:
    sign_in_verified(client, ComplianceStaffFactory())
    return client


def pending_change(legal_name: str = "Northwind Savings plc") -> DataScopeVersion:
    """Return version 2 of a published scope: sensitive now, one field and one purpose fewer, one more."""
    scope = published_scope(
        PartnerFactory(legal_name=legal_name), "card_transactions.read", purposes=["account_updates", "fraud_alerts"]
    )
    scope_update(
        scope=scope,
        actor=None,
        sensitivity="high",
        fields=[
            {"name": "balance", "description": "Current balance"},
            {"name": "merchant", "description": "Where you paid"},
        ],
        purposes=["fraud_alerts", "customer_service"],
        retention_days=60,
    )
    return scope_publish(scope=scope, actor=None)


def test_the_page_shows_each_pending_version_and_what_it_changes(reviewer_client: Client) -> None:
    pending_change()
    content = text(reviewer_client.get("/compliance/scopes/").content.decode())
    assert "Northwind Savings plc: card_transactions.read version 2" in content
    assert "Wording people read Your current and available balance" in content
    assert "balance : Current balance" in content
    assert "merchant : Where you paid" in content
    assert "Purposes Fraud alerts Customer-service chat" in content
    assert "Retention 60 days" in content
    assert "Longest grant 180 days" in content
    assert "Fields Added: merchant Removed: available" in content
    assert "Purposes Added: Customer-service chat Removed: Account updates" in content
    assert "Sensitivity Low High" in content
    assert "Retention (days) 30 60" in content


def test_a_new_scope_has_nothing_to_compare_with(reviewer_client: Client) -> None:
    scope = scope_create(
        partner=PartnerFactory(), code="fraud_signals.read", actor=None, **{**SCOPE_CONTENT, "sensitivity": "high"}
    )
    scope_publish(scope=scope, actor=None)
    content = text(reviewer_client.get("/compliance/scopes/").content.decode())
    assert "This scope has no published version yet: everything above is new." in content


def test_approving_publishes_the_version_and_records_the_note(reviewer_client: Client) -> None:
    version = pending_change()
    response = reviewer_client.post(
        "/compliance/scopes/", {"version": version.pk, "decision": "approve", "note": "Purpose is clear."}
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == DataScopeVersion.Status.PUBLISHED
    assert version.scope.published_version_id == version.pk
    entry = AuditEntry.objects.get(action="scope.approve_publish")
    assert entry.data["note"] == "Purpose is clear."
    page = text(reviewer_client.get("/compliance/scopes/").content.decode())
    assert "card_transactions.read version 2 approved and published." in page
    assert "Nothing is waiting for review." in page


def test_sending_back_without_a_note_is_refused_and_changes_nothing(reviewer_client: Client) -> None:
    version = pending_change()
    before = AuditEntry.objects.count()
    response = reviewer_client.post("/compliance/scopes/", {"version": version.pk, "decision": "reject", "note": ""})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Say what the bank must change." in content
    note_error = re.search(rf'id="review-{version.pk}-note_error">(.*?)</div>', content, re.S)
    assert note_error is not None
    assert "Write a note." in note_error.group(1)
    version.refresh_from_db()
    assert version.status == DataScopeVersion.Status.PENDING_REVIEW
    assert AuditEntry.objects.count() == before


def test_sending_back_with_a_note_returns_the_version_to_the_bank(reviewer_client: Client) -> None:
    version = pending_change()
    reviewer_client.post(
        "/compliance/scopes/", {"version": version.pk, "decision": "reject", "note": "Why is merchant needed?"}
    )
    version.refresh_from_db()
    assert version.status == DataScopeVersion.Status.DRAFT
    assert AuditEntry.objects.get(action="scope.review_reject").data["note"] == "Why is merchant needed?"


def test_approving_a_version_that_is_not_pending_says_so(reviewer_client: Client) -> None:
    version = pending_change()
    reviewer_client.post("/compliance/scopes/", {"version": version.pk, "decision": "approve", "note": ""})
    before = AuditEntry.objects.count()
    response = reviewer_client.post("/compliance/scopes/", {"version": version.pk, "decision": "approve", "note": ""})
    assert response.status_code == 200
    assert "This version is not waiting for review." in text(response.content.decode())
    assert AuditEntry.objects.count() == before
    missing = reviewer_client.post("/compliance/scopes/", {"version": 999999, "decision": "approve", "note": ""})
    assert "This scope version does not exist any more." in text(missing.content.decode())


def test_platform_staff_and_banks_cannot_review(client: Client) -> None:
    version = pending_change()
    for person in (PlatformStaffFactory(), member_of(version.scope.partner)):
        sign_in_verified(client, person)
        response = client.post("/compliance/scopes/", {"version": version.pk, "decision": "approve", "note": ""})
        assert response.status_code == 403
    version.refresh_from_db()
    assert version.status == DataScopeVersion.Status.PENDING_REVIEW


def test_compliance_staff_find_the_page_in_the_navigation(reviewer_client: Client) -> None:
    content = reviewer_client.get("/compliance/scopes/").content.decode()
    assert '<a href="/compliance/scopes/" aria-current="page">Scope reviews</a>' in content
    assert '<a href="/compliance/">Audit trail</a>' in content


@pytest.mark.parametrize("pending", [2, 8])
def test_the_page_costs_the_same_queries_for_2_or_8_versions(
    reviewer_client: Client, pending: int, django_assert_max_num_queries: Any
) -> None:
    for n in range(pending):
        pending_change(f"Bank {n}")
    with django_assert_max_num_queries(7):
        response = reviewer_client.get("/compliance/scopes/")
    assert response.content.decode().count("<article") == pending
