"""`consent_check_many` answers exactly as `consent_check` does, pair by pair, in one query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from consent.models import ConsentGrant
from consent.selectors import consent_check, consent_check_many
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
