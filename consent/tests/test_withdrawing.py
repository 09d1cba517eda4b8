"""Withdrawals confirm first, a bank means every account there, and a withdrawal can be undone for a few minutes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEntry
from consent import signals
from consent.models import AccountLink, ConsentEvent, ConsentGrant
from consent.services import consent_revoke, consent_undo_withdrawal, link_unlink
from consent.tests.factories import grant_for, link_for, live_bank
from partners.models import Partner
from partners.services import scope_publish, scope_update
from portal.errors import Conflict
from portal.models import User
from portal.tests.factories import UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank() -> Partner:
    return live_bank("balances.read", "card_transactions.read", legal_name="Northwind Savings")


@pytest.fixture
def person() -> User:
    return UserFactory()


@pytest.fixture
def browser(person: User) -> Client:
    client = Client()
    sign_in_verified(client, person)
    return client


def _two_accounts(person: User, bank: Partner) -> tuple[AccountLink, AccountLink]:
    first, second = link_for(person, bank, 0), link_for(person, bank, 1)
    grant_for(first)
    grant_for(second, bank.scopes.get(code="card_transactions.read"))
    return first, second


def test_every_withdrawal_page_says_what_stops_and_acts_only_once_confirmed(
    browser: Client, person: User, bank: Partner
) -> None:
    first, second = _two_accounts(person, bank)
    grant = ConsentGrant.objects.get(link=first)
    pages = [
        reverse("consent:grant-revoke", kwargs={"grant_id": grant.pk}),
        reverse("consent:bank-revoke-all", kwargs={"slug": bank.slug}),
        reverse("consent:link-unlink", kwargs={"link_id": first.pk}),
        reverse("consent:revoke-everything"),
    ]
    for url in pages:
        for answer in (browser.get(url), browser.post(url)):  # a POST without the confirmation only asks
            html = answer.content.decode()
            assert answer.status_code == 200
            assert 'name="confirm" value="yes"' in html
            assert "Northwind Savings" in html
            assert first.account_mask in html
    assert ConsentGrant.objects.filter(status="active").count() == 2
    assert AccountLink.objects.filter(status="active").count() == 2
    bank_page = browser.get(pages[1]).content.decode()
    assert second.account_mask in bank_page  # both accounts at that bank are named
    assert "It would otherwise have run until" in bank_page
    assert "within 30 days" in bank_page


def test_withdrawing_everything_from_a_bank_covers_every_account_there(
    browser: Client, person: User, bank: Partner
) -> None:
    _two_accounts(person, bank)
    elsewhere = grant_for(link_for(person, live_bank()))
    response = browser.post(
        reverse("consent:bank-revoke-all", kwargs={"slug": bank.slug}), {"confirm": "yes"}, follow=True
    )
    assert "on every account" in response.content.decode()
    assert not ConsentGrant.objects.filter(partner=bank, status="active").exists()
    elsewhere.refresh_from_db()
    assert elsewhere.status == "active"
    # Nothing is offered that has nothing to act on.
    dashboard = browser.get(reverse("consent:dashboard")).content.decode()
    assert "Withdraw everything from Northwind Savings" not in dashboard
    nothing = browser.get(reverse("consent:bank-revoke-all", kwargs={"slug": bank.slug})).content.decode()
    assert "Nothing to withdraw" in nothing
    assert 'name="confirm"' not in nothing


def test_another_persons_bank_page_is_not_found(bank: Partner) -> None:
    owner = UserFactory()
    _two_accounts(owner, bank)
    intruder = Client()
    sign_in_verified(intruder, UserFactory())
    url = reverse("consent:bank-revoke-all", kwargs={"slug": bank.slug})
    assert intruder.get(url).status_code == 404
    assert intruder.post(url, {"confirm": "yes"}).status_code == 404
    assert ConsentGrant.objects.filter(status="active").count() == 2


def test_the_dashboard_offers_the_undo_and_the_undo_grants_the_same_again(
    browser: Client, person: User, bank: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    first, _ = _two_accounts(person, bank)
    old = ConsentGrant.objects.get(link=first)
    browser.post(reverse("consent:grant-revoke", kwargs={"grant_id": old.pk}), {"confirm": "yes"})
    dashboard = browser.get(reverse("consent:dashboard")).content.decode()
    assert "Undo the withdrawal" in dashboard
    assert f'name="grant" value="{old.pk}"' in dashboard
    announced: list[str] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        announced.append(kwargs["event"])

    signals.consent_changed.connect(receiver, dispatch_uid="test-undo")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(reverse("consent:undo-withdrawal"), {"grant": [old.pk]}, follow=True)
    finally:
        signals.consent_changed.disconnect(dispatch_uid="test-undo")
    assert "Undone" in response.content.decode()
    assert "Undo the withdrawal" not in response.content.decode()
    old.refresh_from_db()
    again = ConsentGrant.objects.get(link=first, status="active")
    assert old.status == "revoked"  # the withdrawal stays on the record
    assert (again.scope_version_id, again.purpose, again.message_types, again.expires_at) == (
        old.scope_version_id,
        old.purpose,
        old.message_types,
        old.expires_at,
    )
    event = ConsentEvent.objects.get(grant=again, kind="granted")
    assert event.reason.startswith("You undid your withdrawal of")
    entry = AuditEntry.objects.filter(action="consent.undo_withdrawal").get()
    assert entry.data["undoes"] == old.pk
    assert announced == ["granted"]
    second = browser.post(reverse("consent:undo-withdrawal"), {"grant": [old.pk]}, follow=True)
    assert "already granted" in second.content.decode()
    assert ConsentGrant.objects.filter(link=first, status="active").count() == 1


def test_an_undo_after_the_window_or_of_someone_elses_withdrawal_changes_nothing(person: User, bank: Partner) -> None:
    first, _ = _two_accounts(person, bank)
    old = consent_revoke(grant=ConsentGrant.objects.get(link=first), actor=person)
    ConsentGrant.objects.filter(pk=old.pk).update(revoked_at=timezone.now() - timedelta(minutes=6))
    with pytest.raises(Conflict) as late:
        consent_undo_withdrawal(user=person, grant_ids=[old.pk])
    assert late.value.code == "undo_expired"
    ConsentGrant.objects.filter(pk=old.pk).update(revoked_at=timezone.now())
    with pytest.raises(Conflict) as theirs:
        consent_undo_withdrawal(user=UserFactory(), grant_ids=[old.pk])
    assert theirs.value.code == "undo_expired"  # the same answer as a grant that does not exist
    assert not ConsentGrant.objects.filter(link=first, status="active").exists()


def test_only_the_persons_own_recent_withdrawal_on_a_linked_account_can_be_undone(person: User, bank: Partner) -> None:
    first, second = _two_accounts(person, bank)
    by_bank = consent_revoke(grant=ConsentGrant.objects.get(link=first), actor=None, by="system")
    with pytest.raises(Conflict):
        consent_undo_withdrawal(user=person, grant_ids=[by_bank.pk])
    link_unlink(link=second, actor=person)
    unlinked = ConsentGrant.objects.get(link=second)
    with pytest.raises(Conflict) as refused:
        consent_undo_withdrawal(user=person, grant_ids=[unlinked.pk])
    assert refused.value.code == "link_unlinked"


def test_an_undo_on_wording_the_bank_has_since_changed_is_refused(person: User, bank: Partner) -> None:
    first, _ = _two_accounts(person, bank)
    old = consent_revoke(grant=ConsentGrant.objects.get(link=first), actor=person)
    scope = old.scope
    scope_update(scope=scope, actor=None, description="A new wording.")
    scope_publish(scope=scope, actor=None)
    with pytest.raises(Conflict) as changed:
        consent_undo_withdrawal(user=person, grant_ids=[old.pk])
    assert changed.value.code == "scope_changed"
    assert not ConsentGrant.objects.filter(link=first, status="active").exists()
