"""The consent check answers in one indexed query; people and banks see only their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.models import ConsentGrant
from consent.rules import consent_check
from consent.selectors import (
    bank_for_user,
    banks_for_user,
    consent_screen_for,
    grant_for_partner,
    grants_for_partner,
    shared_summary_for_user,
)
from consent.services import consent_revoke
from consent.tests.factories import grant_for, link_for, live_bank
from partners.models import Partner
from partners.tests.factories import PartnerFactory, member_of, published_scope
from portal.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RECEIPTS_ONLY = {
    "purposes": ["receipts_shipping"],
    "category": "card_transactions",
}


@pytest.fixture
def granted() -> ConsentGrant:
    bank = live_bank()
    published_scope(bank, "card_transactions.read", **RECEIPTS_ONLY)
    link = link_for(UserFactory(), bank)
    grant_for(link)  # balances.read for account updates
    return grant_for(link, bank.scopes.get(code="card_transactions.read"), message_types=["receipt"])


def _check(grant: ConsentGrant, message_type: str, **kwargs: object) -> bool:
    return consent_check(partner_id=grant.partner_id, link_id=grant.link_id, message_type=message_type, **kwargs)  # type: ignore[arg-type]


def test_the_check_allows_what_was_granted_and_nothing_else(granted: ConsentGrant) -> None:
    assert _check(granted, "receipt")
    assert _check(granted, "balance_update")
    assert not _check(granted, "shipping_update")  # switched off
    assert not _check(granted, "fraud_alert")  # never granted
    assert not _check(granted, "chat_reply")
    assert not _check(granted, "advertising")  # no such message type, no such purpose


def test_the_check_is_one_query_using_the_partial_index(granted: ConsentGrant) -> None:
    with CaptureQueriesContext(connection) as queries:
        _check(granted, "receipt")
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert "consent_consentgrant" in sql
    assert "&" in sql  # the bitmask test happens in the database
    if connection.vendor in ("sqlite", "postgresql"):
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {'QUERY PLAN ' if connection.vendor == 'sqlite' else ''}{sql}")
            plan = " ".join(str(row) for row in cursor.fetchall())
        # On a nearly empty table PostgreSQL may prefer a scan; SQLite always shows the index it picks.
        if connection.vendor == "sqlite":
            assert "consent_" in plan, plan


def test_the_check_refuses_another_bank_even_with_the_right_link(granted: ConsentGrant) -> None:
    other = PartnerFactory(status=Partner.Status.LIVE)
    assert not consent_check(partner_id=other.pk, link_id=granted.link_id, message_type="receipt")


def test_the_check_fails_from_the_revocation_on(granted: ConsentGrant) -> None:
    consent_revoke(grant=granted, actor=granted.user)
    assert not _check(granted, "receipt")
    assert _check(granted, "balance_update")


def test_the_check_fails_at_expiry_even_before_the_expiry_task_runs(granted: ConsentGrant) -> None:
    assert _check(granted, "receipt", at=granted.expires_at - timedelta(seconds=1))
    assert not _check(granted, "receipt", at=granted.expires_at)


def test_the_check_fails_while_the_bank_is_suspended(granted: ConsentGrant) -> None:
    Partner.objects.filter(pk=granted.partner_id).update(status=Partner.Status.SUSPENDED)
    assert not _check(granted, "receipt")


def test_people_see_live_banks_and_only_their_own_sandbox_banks() -> None:
    person, tester = UserFactory(), UserFactory()
    live = live_bank()
    sandbox = PartnerFactory(status=Partner.Status.SANDBOX)
    published_scope(sandbox)
    member_of(sandbox, user=tester)
    applied = PartnerFactory(status=Partner.Status.APPLIED)
    published_scope(applied)
    PartnerFactory(status=Partner.Status.LIVE)  # offers nothing yet
    assert list(banks_for_user(user=person)) == [live]
    assert set(banks_for_user(user=tester)) == {live, sandbox}
    assert bank_for_user(user=person, slug=sandbox.slug) is None
    assert bank_for_user(user=tester, slug=sandbox.slug) == sandbox


def test_the_consent_screen_offers_each_published_purpose_and_marks_what_is_granted(granted: ConsentGrant) -> None:
    screen = consent_screen_for(link=granted.link)
    offers = {offer.scope.code: offer for offer in screen.offers}
    assert set(offers) == {"balances.read", "card_transactions.read"}
    card = offers["card_transactions.read"]
    [receipts] = card.purposes
    assert receipts.granted == granted
    assert receipts.has_choice_of_types
    assert [code for code, _label in receipts.message_types] == ["receipt", "shipping_update"]
    assert card.expires_on.date() == (timezone.now() + timedelta(days=180)).date()


def test_banks_see_only_grants_given_to_them(granted: ConsentGrant) -> None:
    bank = granted.partner
    other = live_bank()
    grant_for(link_for(UserFactory(), other))
    assert grants_for_partner(partner=bank).count() == 2
    assert grant_for_partner(partner=other, pk=granted.pk) is None
    assert list(grants_for_partner(partner=bank, status="revoked")) == []
    assert grants_for_partner(partner=bank, link_id=granted.link_id).count() == 2


def test_what_was_shared_is_empty_until_delivery_records_sends() -> None:
    assert shared_summary_for_user(user=UserFactory()) == []
