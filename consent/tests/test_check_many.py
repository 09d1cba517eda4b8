"""`consent_check_many` answers exactly as `consent_check` does, pair by pair, in one query."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from consent.models import ConsentGrant
from consent.rules import consent_check, consent_check_many
from consent.services import consent_revoke
from consent.tests.factories import grant_for, link_for, live_bank
from partners.models import Partner
from portal.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TYPES = ["balance_update", "fraud_alert", "receipt", "shipping_update", "chat_reply", "no_such_type"]


def test_bulk_answers_match_single_answers(django_assert_num_queries: Any) -> None:
    bank, other = live_bank("balances.read"), live_bank("balances.read")
    links = [link_for(UserFactory(), bank) for _ in range(4)]
    grant_for(links[0])  # account updates: balance_update
    grant_for(links[1], message_types=["balance_update"])
    revoked = grant_for(links[2])
    consent_revoke(grant=revoked, actor=links[2].user)
    expiring = grant_for(links[3])
    ConsentGrant.objects.filter(pk=expiring.pk).update(
        granted_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(seconds=1)
    )
    foreign = link_for(UserFactory(), other)
    grant_for(foreign)
    pairs = {(link.pk, t) for link in [*links, foreign] for t in TYPES}

    with django_assert_num_queries(1):
        bulk = consent_check_many(partner_id=bank.pk, pairs=pairs)
    single = {pair for pair in pairs if consent_check(partner_id=bank.pk, link_id=pair[0], message_type=pair[1])}
    assert bulk == single
    assert (links[0].pk, "balance_update") in bulk
    assert (foreign.pk, "balance_update") not in bulk

    Partner.objects.filter(pk=bank.pk).update(status=Partner.Status.SUSPENDED)
    assert consent_check_many(partner_id=bank.pk, pairs=pairs) == set()


def test_held_answers_match_unheld_ones() -> None:
    bank = live_bank("balances.read")
    link = link_for(UserFactory(), bank)
    grant_for(link)
    pairs = {(link.pk, t) for t in TYPES}
    with transaction.atomic():
        assert consent_check_many(partner_id=bank.pk, pairs=pairs, hold=True) == consent_check_many(
            partner_id=bank.pk, pairs=pairs
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_held_grants_let_other_batches_in_but_make_a_revoke_or_suspension_wait() -> None:
    bank = live_bank("balances.read")
    link = link_for(UserFactory(), bank)
    grant = grant_for(link)
    pairs = {(link.pk, "balance_update")}
    with pytest.raises(RuntimeError, match="needs a transaction"):  # a lock outside one would end at once
        consent_check_many(partner_id=bank.pk, pairs=pairs, hold=True)
    holding, release = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def batch() -> None:  # a sending batch that holds its check until told to finish
        try:
            with transaction.atomic():
                consent_check_many(partner_id=bank.pk, pairs=pairs, hold=True)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    def attempt(name: str, change: Any) -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                change()
            outcomes[name] = "went through"
        except OperationalError:
            outcomes[name] = "waited"
        finally:
            connections.close_all()

    def second_batch() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
                outcomes["second batch"] = str(len(consent_check_many(partner_id=bank.pk, pairs=pairs, hold=True)))
        except OperationalError:
            outcomes["second batch"] = "waited"
        finally:
            connections.close_all()

    holder = threading.Thread(target=batch)
    holder.start()
    assert holding.wait(10)
    others = [
        threading.Thread(target=second_batch),
        threading.Thread(target=attempt, args=("revoke", lambda: consent_revoke(grant=grant, actor=link.user))),
        threading.Thread(
            target=attempt,
            args=("suspension", lambda: Partner.objects.filter(pk=bank.pk).update(status=Partner.Status.SUSPENDED)),
        ),
    ]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(10)
    release.set()
    holder.join(10)
    assert outcomes == {"second batch": "1", "revoke": "waited", "suspension": "waited"}, outcomes
    assert ConsentGrant.objects.get(pk=grant.pk).status == ConsentGrant.Status.ACTIVE
