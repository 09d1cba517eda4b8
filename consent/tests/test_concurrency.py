"""Concurrent clicks: one active grant at most, and the final state is the one the last audit entry records."""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from compliance.models import AuditEntry
from consent.models import AccountLink, ConsentGrant
from consent.services import GrantChoice, consent_grant, consent_revoke
from consent.tests.factories import link_for, live_bank
from portal.errors import ApplicationError
from portal.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def _run_together(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run `work(i)` in `threads` threads released at once; return each result or exception."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected for the test to inspect
            results[i] = exc
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return results


@pytest.fixture
def link() -> AccountLink:
    return link_for(UserFactory(), live_bank())


def _choice(link: AccountLink) -> GrantChoice:
    version = link.partner.scopes.get().published_version
    assert version is not None
    return GrantChoice(version.pk, "account_updates", ("balance_update",))


def test_concurrent_clicks_grant_once(link: AccountLink) -> None:
    choice = _choice(link)
    results = _run_together(lambda i: consent_grant(user=link.user, link=link, choices=[choice]))
    granted = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(granted) == 1, results
    assert len(refused) == THREADS - 1, results
    assert {r.code for r in refused} == {"already_granted"}
    assert ConsentGrant.objects.filter(link=link, status="active").count() == 1
    assert AuditEntry.objects.filter(action="consent.grant").count() == 1


def test_concurrent_grants_and_revokes_end_in_the_state_of_the_last_audit_entry(link: AccountLink) -> None:
    choice = _choice(link)

    def click(i: int) -> list[str]:
        rng = random.Random(i)  # a test's interleaving, not a secret
        outcomes = []
        for _ in range(6):
            try:
                if rng.random() < 0.5:
                    consent_grant(user=link.user, link=link, choices=[choice])
                    outcomes.append("granted")
                else:
                    active = ConsentGrant.objects.filter(link=link, status="active").first()
                    if active is None:
                        outcomes.append("nothing to revoke")
                        continue
                    consent_revoke(grant=active, actor=link.user)
                    outcomes.append("revoked")
            except ApplicationError as error:
                outcomes.append(error.code)
        return outcomes

    results = _run_together(click)
    assert not [r for r in results if isinstance(r, Exception)], results
    entries = list(AuditEntry.objects.filter(action__in=["consent.grant", "consent.revoke"]).order_by("id"))
    assert entries, results
    actions = [entry.action for entry in entries]
    # Serialised per link: every revoke follows a grant, and no two grants are in force at once.
    for before, after in itertools.pairwise(actions):
        assert before != after, actions
    last = entries[-1]
    active = list(ConsentGrant.objects.filter(link=link, status="active"))
    if last.action == "consent.grant":
        assert [grant.pk for grant in active] == [int(last.target_id)]
    else:
        assert active == []
        assert ConsentGrant.objects.get(pk=int(last.target_id)).status == "revoked"
    assert json.loads(last.data_json)["status"] == ("active" if last.action == "consent.grant" else "revoked")
    assert ConsentGrant.objects.filter(link=link).count() == actions.count("consent.grant")
