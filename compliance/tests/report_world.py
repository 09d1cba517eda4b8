"""A small known world for the reports: bank A with `n` rows of every kind, bank B with one, and their people."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_append
from consent.models import ConsentEvent, ConsentGrant, GrantScopeChange
from consent.receipts import receipt_body, seal
from consent.tests.factories import ConsentGrantFactory
from delivery.models import Delivery, PartnerEvent
from delivery.tests.factories import published_balances_scope
from partners.models import Partner, PartnerMembership, TermsAcceptance, UsageTerms
from partners.tests.factories import PartnerFactory, member_of
from portal.models import User

_keys = itertools.count(1)


@dataclass
class ReportWorld:
    """Who and what the report tests count."""

    bank_a: Partner
    bank_b: Partner
    bank_c: Partner  # in the sandbox, never accepted the terms
    contact_a: User
    manager_b: User
    n: int


def _months_ago(months: int) -> timezone.datetime:
    return timezone.now().replace(day=15) - timedelta(days=31 * months)


def _event(grant: ConsentGrant, kind: str, at: timezone.datetime | None = None) -> None:
    """Write a sealed consent event of `grant` (events are immutable: the time is set as it is written)."""
    event = ConsentEvent(
        kind=kind, user_id=grant.user_id, partner_id=grant.partner_id, link=grant.link, grant=grant,
        actor=ConsentGrant.RevokedBy.USER, created_at=at or timezone.now(),
    )  # fmt: skip
    body = receipt_body(
        public_id=str(event.public_id), kind=kind, created_at=event.created_at, actor=event.actor, reason="",
        link=grant.link, grant=grant,
    )  # fmt: skip
    event.receipt_json, event.receipt_sha256 = seal(body)
    event.save()


def _partner_event(bank: Partner, grant: ConsentGrant, *statuses: tuple[str, str, str]) -> PartnerEvent:
    event = PartnerEvent.objects.create(
        partner=bank,
        link=grant.link,
        type="balance_update",
        payload={},
        idempotency_key=f"k-{next(_keys)}",
        request_hash="0" * 64,
    )
    for channel, status, error in statuses:
        Delivery.objects.create(
            event=event,
            partner=bank,
            channel=channel,
            status=status,
            last_error=error,
            delivered_at=timezone.now() if status == Delivery.Status.DELIVERED else None,
        )
    return event


INBOX, GATEWAY = Delivery.Channel.INBOX, Delivery.Channel.GATEWAY
S = Delivery.Status
BY_CONSENT = "The person's consent no longer allows this message."


def _bank_rows(bank: Partner, count: int, *, extras: bool) -> None:
    scope = bank.scopes.get()
    grants = [ConsentGrantFactory(link__partner=bank) for _ in range(count)]
    for grant in grants:
        _event(grant, ConsentEvent.Kind.GRANTED)
        _partner_event(bank, grant, (INBOX, S.DELIVERED, ""), (GATEWAY, S.DEAD, "=HYPERLINK(500)"))
        ConsentGrant.objects.filter(pk=grant.pk).update(deletion_due_at=timezone.now() - timedelta(days=3))
        GrantScopeChange.objects.create(
            grant=grant,
            scope_version=scope.published_version,
            partner=bank,
            outcome=GrantScopeChange.Outcome.SHORTENED,
            detail="Ends earlier",
            expires_before=grant.expires_at,
            expires_after=grant.expires_at - timedelta(days=10),
        )
        with transaction.atomic():
            audit_append(action="scope.submit_for_review", target=scope, data={"version": 2})
    if not extras:
        return
    first = grants[0]
    _event(first, ConsentEvent.Kind.REVOKED)
    _event(first, ConsentEvent.Kind.EXPIRED, at=_months_ago(2))
    _event(first, ConsentEvent.Kind.RENEWED)  # not a new grant
    _event(first, ConsentEvent.Kind.GRANTED, at=_months_ago(24))  # outside the default twelve months
    _partner_event(bank, first, (INBOX, S.CANCELLED, BY_CONSENT), (GATEWAY, S.CANCELLED, BY_CONSENT))
    _partner_event(bank, first, (INBOX, S.CANCELLED, "Cancelled: the bank was suspended."))
    attested = ConsentGrantFactory(link__partner=bank)
    ConsentGrant.objects.filter(pk=attested.pk).update(
        deletion_due_at=timezone.now() - timedelta(days=3), deletion_attested_at=timezone.now()
    )
    later = ConsentGrantFactory(link__partner=bank)
    ConsentGrant.objects.filter(pk=later.pk).update(deletion_due_at=timezone.now() + timedelta(days=3))
    GrantScopeChange.objects.create(
        grant=first,
        scope_version=scope.published_version,
        partner=bank,
        outcome=GrantScopeChange.Outcome.REVIEW,
        detail="New wording to review",
        expires_before=first.expires_at,
        expires_after=first.expires_at,
    )
    with transaction.atomic():
        audit_append(action="scope.review_reject", target=scope, data={"version": 2, "note": "Say why"})


def report_world(n: int = 2) -> ReportWorld:
    """Return a world where bank A has `n` of each counted row (and some that must not count), bank B one."""
    bank_a = PartnerFactory(status=Partner.Status.LIVE, legal_name="Alpha Bank")
    bank_b = PartnerFactory(status=Partner.Status.LIVE, legal_name="Beta Bank")
    bank_c = PartnerFactory(status=Partner.Status.SANDBOX, legal_name="Gamma Bank")
    for bank in (bank_a, bank_b, bank_c):
        published_balances_scope(bank)
    contact_a = member_of(bank_a, PartnerMembership.Role.COMPLIANCE)
    manager_a = member_of(bank_a)
    manager_b = member_of(bank_b)
    _bank_rows(bank_a, n, extras=True)
    _bank_rows(bank_b, 1, extras=False)
    old = UsageTerms.objects.create(
        version=1, title="v1", body="one", body_sha256="1", published_at=timezone.now() - timedelta(days=90)
    )
    new = UsageTerms.objects.create(
        version=2, title="v2", body="two", body_sha256="2", grace_days=30,
        published_at=timezone.now() - timedelta(days=60),
    )  # fmt: skip
    TermsAcceptance.objects.create(partner=bank_a, terms=old, accepted_by=manager_a, text_sha256="1")
    TermsAcceptance.objects.create(partner=bank_b, terms=new, accepted_by=manager_b, text_sha256="2")
    return ReportWorld(bank_a, bank_b, bank_c, contact_a, manager_b, n)
