"""A grant never allows more than its scope's newest published version: each kind of change, followed through.

Each case checks the grant, its consent event, the bank's webhook row, the person's inbox message and the
audit entry, all written in the publishing transaction (the `db` fixture runs no on-commit callbacks).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEntry
from consent.models import ConsentEvent, ConsentGrant, GrantScopeChange
from consent.tests.factories import grant_for
from delivery.models import InboxMessage, WebhookMessage
from delivery.tests.factories import Consenting, consenting, delivery_bank, published_balances_scope
from partners.models import DataScope
from partners.services import scope_publish, scope_update, webhook_endpoint_create
from partners.tests.factories import SCOPE_CONTENT, PartnerFactory, member_of
from portal.tests.factories import ComplianceStaffFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db

Outcome = GrantScopeChange.Outcome


@pytest.fixture
def c() -> Consenting:
    """A person who granted balances for account updates and fraud alerts, at a bank listening to consent.*."""
    bank = PartnerFactory(status="live")
    published_balances_scope(bank, purposes=["account_updates", "fraud_alerts"])
    person = consenting(bank)
    grant_for(person.link, person.grant.scope, purpose="fraud_alerts")
    webhook_endpoint_create(
        partner=bank,
        url="https://bank.example/hooks",
        event_types=["consent.granted", "consent.revoked", "consent.expired"],
        actor=None,
    )
    return person


def _publish(scope: DataScope, **changes: Any) -> None:
    scope_update(scope=scope, actor=None, **changes)
    scope_publish(scope=scope, actor=None)


def _started(grant: ConsentGrant, days_ago: int) -> None:
    ConsentGrant.objects.filter(pk=grant.pk).update(granted_at=timezone.now() - timedelta(days=days_ago))


def _told(c: Consenting, grant: ConsentGrant, *, event: str, webhook: str, change: str, audit: str) -> GrantScopeChange:
    """Assert everyone was told about the change to `grant`; return its recorded change."""
    assert ConsentEvent.objects.filter(grant=grant, kind=event).count() == 1
    [message] = WebhookMessage.objects.filter(partner=c.bank, event_type=webhook)
    assert message.payload["data"]["change"] == change
    assert grant.pk in [entry["id"] for entry in message.payload["data"]["consents"]]
    [inbox] = InboxMessage.objects.filter(user=c.user, type=InboxMessage.Type.CONSENT_CHANGE)
    assert inbox.title == f"{c.bank.legal_name} changed Your account balances: what changes for you"
    assert AuditEntry.objects.filter(action=audit, target_id=str(grant.pk)).count() == 1
    [recorded] = GrantScopeChange.objects.filter(grant=grant)
    assert recorded.scope_version_id == grant.scope.published_version_id
    assert recorded.detail in inbox.body
    return recorded


def test_a_dropped_purpose_ends_its_grants_and_only_those(c: Consenting) -> None:
    fraud = ConsentGrant.objects.get(link=c.link, purpose="fraud_alerts")
    _publish(c.grant.scope, purposes=["account_updates"])
    fraud.refresh_from_db()
    assert (fraud.status, fraud.revoked_by) == ("revoked", "system")
    assert "no longer uses Your account balances for fraud alerts" in fraud.revoke_reason
    recorded = _told(
        c, fraud, event=ConsentEvent.Kind.REVOKED, webhook="consent.revoked", change="revoked", audit="consent.revoke"
    )
    assert recorded.outcome == Outcome.REVOKED
    assert ConsentGrant.objects.get(pk=c.grant.pk).status == "active"
    assert not GrantScopeChange.objects.filter(grant=c.grant).exists()


def test_a_shorter_maximum_caps_each_grant_at_its_start_plus_the_new_maximum(c: Consenting) -> None:
    _started(c.grant, days_ago=100)
    c.grant.refresh_from_db()
    _publish(c.grant.scope, max_duration_days=120)
    grant = ConsentGrant.objects.get(pk=c.grant.pk)
    assert grant.status == "active"
    assert grant.expires_at == c.grant.granted_at + timedelta(days=120)
    recorded = _told(
        c,
        grant,
        event=ConsentEvent.Kind.SHORTENED,
        webhook="consent.granted",
        change="shortened",
        audit="consent.shorten",
    )
    assert (recorded.outcome, recorded.expires_before, recorded.expires_after) == (
        Outcome.SHORTENED,
        c.grant.expires_at,
        grant.expires_at,
    )


def test_a_renewed_grant_is_capped_from_its_renewal(c: Consenting) -> None:
    renewed = timezone.now() - timedelta(days=10)
    ConsentGrant.objects.filter(pk=c.grant.pk).update(granted_at=renewed - timedelta(days=300), renewed_at=renewed)
    _publish(c.grant.scope, max_duration_days=30)
    grant = ConsentGrant.objects.get(pk=c.grant.pk)
    assert (grant.status, grant.expires_at) == ("active", renewed + timedelta(days=30))


def test_a_shorter_maximum_that_has_already_passed_ends_the_grant_now(c: Consenting) -> None:
    _started(c.grant, days_ago=100)
    _publish(c.grant.scope, max_duration_days=30)
    grant = ConsentGrant.objects.get(pk=c.grant.pk)
    assert grant.status == "expired"
    assert grant.expires_at <= timezone.now()
    assert grant.deletion_due_at is not None
    recorded = _told(
        c, grant, event=ConsentEvent.Kind.EXPIRED, webhook="consent.expired", change="expired", audit="consent.expire"
    )
    assert recorded.outcome == Outcome.EXPIRED


def test_a_dropped_field_leaves_the_grant_pinned_to_what_the_person_saw(c: Consenting) -> None:
    version = c.grant.scope_version
    _publish(c.grant.scope, fields=[{"name": "balance", "description": "Current balance"}])
    grant = ConsentGrant.objects.get(pk=c.grant.pk)
    assert (grant.status, grant.scope_version_id, grant.expires_at) == ("active", version.pk, c.grant.expires_at)
    recorded = _told(
        c,
        grant,
        event=ConsentEvent.Kind.SCOPE_CHANGED,
        webhook="consent.granted",
        change="scope_changed",
        audit="consent.scope_changed",
    )
    assert (recorded.outcome, recorded.invites_review) == (Outcome.PINNED, False)
    assert "available no longer" in recorded.detail


def test_widening_keeps_the_grant_and_invites_a_review(c: Consenting, client: Any) -> None:
    fields = [*SCOPE_CONTENT["fields"], {"name": "overdraft", "description": "Your overdraft limit"}]
    _publish(c.grant.scope, fields=fields)
    grant = ConsentGrant.objects.get(pk=c.grant.pk)
    assert grant.status == "active"
    assert grant.scope_version.number == 1
    recorded = _told(
        c,
        grant,
        event=ConsentEvent.Kind.SCOPE_CHANGED,
        webhook="consent.granted",
        change="scope_changed",
        audit="consent.scope_changed",
    )
    assert (recorded.outcome, recorded.invites_review) == (Outcome.REVIEW, True)
    sign_in_verified(client, c.user)
    page = client.get(reverse("consent:dashboard")).content.decode()
    assert "New wording to review" in page
    assert reverse("consent:grant-renew", kwargs={"grant_id": grant.pk}) in page


def test_a_first_publish_or_a_wording_change_changes_no_grant(c: Consenting) -> None:
    _publish(c.grant.scope, description="Your balance, so we can tell you when it changes. Nothing else.")
    assert not GrantScopeChange.objects.exists()
    assert not InboxMessage.objects.filter(type=InboxMessage.Type.CONSENT_CHANGE).exists()
    other = delivery_bank()  # its first version changed nobody's grant
    assert not GrantScopeChange.objects.filter(partner=other).exists()


def test_the_bank_sees_what_its_last_publish_changed(c: Consenting, client: Any) -> None:
    _started(c.grant, days_ago=100)
    _publish(c.grant.scope, purposes=["account_updates"], max_duration_days=120)
    sign_in_verified(client, member_of(c.bank))
    page = client.get(reverse("partners:scope", kwargs={"slug": c.bank.slug, "code": "balances.read"})).content
    html = page.decode()
    assert "What publishing version 2 changed for people" in html
    assert "Ended: purpose no longer offered: 1 permission" in html
    assert "Ends earlier: 1 permission" in html
    assert "narrow at once" not in html


@pytest.mark.parametrize("people", [1, 4])
def test_compliance_lists_catalog_driven_changes_by_bank_in_few_queries(
    people: int, client: Any, django_assert_max_num_queries: Any
) -> None:
    bank = PartnerFactory(status="live", legal_name="Narrowing Bank")
    published_balances_scope(bank, purposes=["account_updates", "fraud_alerts"])
    for _ in range(people):
        person = consenting(bank)
        grant_for(person.link, person.grant.scope, purpose="fraud_alerts")
    other = consenting()  # another bank, whose change must not show when filtering
    _publish(other.grant.scope, fields=[{"name": "balance", "description": "Current balance"}])
    _publish(bank.scopes.get(), purposes=["account_updates"])
    sign_in_verified(client, ComplianceStaffFactory())
    with django_assert_max_num_queries(8):  # session, user, its second-factor device, banks, count, page, roles
        response = client.get(reverse("compliance:grant-changes"), {"bank": bank.slug})
    html = response.content.decode()
    assert html.count("Ended: purpose no longer offered") == people
    assert "Unchanged: the bank asks for less" not in html
    everything = client.get(reverse("compliance:grant-changes")).content.decode()
    assert "Unchanged: the bank asks for less" in everything
    assert (
        "No published scope version"
        in client.get(reverse("compliance:grant-changes"), {"bank": "nope"}).content.decode()
    )
