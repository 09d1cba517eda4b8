"""Consent pages as a person uses them: nothing pre-ticked, clear refusals, receipts, pinned query counts."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEntry
from consent.models import AccountLink, ConsentEvent, ConsentGrant
from consent.receipts import receipt_verifies
from consent.tests.factories import grant_for, link_for, live_bank
from partners.models import Partner
from partners.tests.factories import published_scope
from portal.models import User
from portal.tests.factories import UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db

CARD: dict[str, Any] = {
    "name": "Your card payments",
    "category": "card_transactions",
    "purposes": ["receipts_shipping"],
    "fields": [{"name": "merchant", "description": "Who you paid"}, {"name": "amount", "description": "How much"}],
    "max_duration_days": 365,
}


@pytest.fixture
def bank() -> Partner:
    bank = live_bank(legal_name="Northwind Savings")
    published_scope(bank, "card_transactions.read", **CARD)
    return bank


@pytest.fixture
def person() -> User:
    return UserFactory()


@pytest.fixture
def link(bank: Partner, person: User) -> AccountLink:
    return link_for(person, bank)


@pytest.fixture
def browser(person: User) -> Client:
    client = Client()
    sign_in_verified(client, person)
    return client


def _screen(link: AccountLink) -> str:
    return reverse("consent:consent-screen", kwargs={"link_id": link.pk})


def _form(bank: Partner) -> dict[str, str | list[str]]:
    balances = bank.scopes.get(code="balances.read").published_version
    card = bank.scopes.get(code="card_transactions.read").published_version
    assert balances is not None
    assert card is not None
    return {
        f"purpose-{balances.pk}-account_updates": "on",
        f"purpose-{card.pk}-receipts_shipping": "on",
        f"types-{card.pk}-receipts_shipping": ["receipt"],
    }


def test_the_consent_screen_shows_everything_and_ticks_nothing(browser: Client, link: AccountLink) -> None:
    response = browser.get(_screen(link))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose what Northwind Savings may send you" in html
    assert "Who you paid" in html  # the fields a scope covers
    assert "Receipts and shipping" in html
    assert "Shipping updates" in html  # a message-type switch
    expiry = timezone.localtime(timezone.now() + timedelta(days=365))
    assert f"until {expiry.day} {expiry:%b %Y}" in html
    assert not re.search(r"<input[^>]*\bchecked\b", html)


def test_the_consent_screen_names_the_terms_the_bank_accepted(browser: Client, link: AccountLink) -> None:
    from partners.services import terms_accept, terms_publish
    from partners.tests.factories import member_of

    terms = terms_publish(title="Platform usage terms", body="Be good.", actor=None)
    terms_accept(partner=link.partner, terms=terms, user=member_of(link.partner))
    assert f"accepted version {terms.version}" in browser.get(_screen(link)).content.decode()


def test_granting_creates_the_grants_and_a_double_submit_creates_nothing_more(
    browser: Client, link: AccountLink, bank: Partner
) -> None:
    response = browser.post(_screen(link), _form(bank))
    assert response.status_code == 302
    assert response["Location"] == reverse("consent:dashboard")
    assert ConsentGrant.objects.filter(link=link, status="active").count() == 2
    card = ConsentGrant.objects.get(scope__code="card_transactions.read")
    assert card.message_types == ["receipt"]
    again = browser.post(_screen(link), _form(bank), follow=True)
    assert "nothing was granted twice" in again.content.decode()
    assert ConsentGrant.objects.count() == 2


def test_a_purpose_without_message_types_is_explained_beside_it(
    browser: Client, link: AccountLink, bank: Partner
) -> None:
    form = _form(bank)
    card_types = next(name for name in form if name.startswith("types-"))
    form[card_types] = []
    response = browser.post(_screen(link), form)
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html
    assert "Choose at least one kind of message" in html
    assert not ConsentGrant.objects.exists()
    # The person's own ticks come back as they left them.
    assert re.search(r'name="purpose-\d+-account_updates" value="on" checked', html)


def test_ticking_nothing_is_explained(browser: Client, link: AccountLink) -> None:
    response = browser.post(_screen(link), {})
    assert response.status_code == 400
    assert "Tick at least one purpose" in response.content.decode()


def test_a_tampered_form_with_another_banks_scope_is_refused_and_audited(browser: Client, link: AccountLink) -> None:
    other = live_bank().scopes.get().published_version
    assert other is not None
    response = browser.post(_screen(link), {f"purpose-{other.pk}-account_updates": "on"})
    assert response.status_code == 403
    assert "does not offer" in response.content.decode()
    assert not ConsentGrant.objects.exists()
    assert AuditEntry.objects.order_by("-id").values_list("action", flat=True)[0] == "consent.refused"


def test_someone_elses_link_cannot_be_seen_or_granted(link: AccountLink, bank: Partner) -> None:
    intruder = Client()
    sign_in_verified(intruder, UserFactory())
    assert intruder.get(_screen(link)).status_code == 404
    entries = AuditEntry.objects.count()
    assert intruder.post(_screen(link), _form(bank)).status_code == 404
    assert not ConsentGrant.objects.exists()
    assert AuditEntry.objects.count() == entries  # a probe is answered like a missing id, and costs no entry


@pytest.mark.parametrize(
    ("route", "kind"),
    [
        ("consent:grant-revoke", "grant"),
        ("consent:grant-detail", "grant"),
        ("consent:grant-renew", "grant"),
        ("consent:grant-narrow", "grant"),
        ("consent:link-unlink", "link"),
        ("consent:consent-screen", "link"),
    ],
)
def test_someone_elses_grant_or_link_answers_404_like_a_missing_one(link: AccountLink, route: str, kind: str) -> None:
    grant = grant_for(link)
    intruder = Client()
    sign_in_verified(intruder, UserFactory())
    entries = AuditEntry.objects.count()
    kwargs = {"grant_id": grant.pk} if kind == "grant" else {"link_id": link.pk}
    missing = {"grant_id": grant.pk + 1000} if kind == "grant" else {"link_id": link.pk + 1000}
    for method in (intruder.get, intruder.post):
        probed, absent = method(reverse(route, kwargs=kwargs)), method(reverse(route, kwargs=missing))
        assert probed.status_code == absent.status_code
        assert probed.status_code in (404, 405)
    grant.refresh_from_db()
    link.refresh_from_db()
    assert grant.status == "active"
    assert link.status == "active"
    assert AuditEntry.objects.count() == entries


def test_the_dashboard_shows_each_bank_and_permission_and_withdraws_them(
    browser: Client, link: AccountLink, bank: Partner
) -> None:
    browser.post(_screen(link), _form(bank))
    html = browser.get(reverse("consent:dashboard")).content.decode()
    assert "Northwind Savings" in html
    assert link.account_mask in html
    assert "Your card payments" in html
    assert "What your banks sent you" in html
    card = ConsentGrant.objects.get(scope__code="card_transactions.read")
    withdraw = reverse("consent:grant-revoke", kwargs={"grant_id": card.pk})
    response = browser.post(withdraw, {"confirm": "yes"}, follow=True)
    assert "Permission withdrawn" in response.content.decode()
    card.refresh_from_db()
    assert card.status == "revoked"
    repeat = browser.post(withdraw, {"confirm": "yes"}, follow=True)
    assert "already withdrawn" in repeat.content.decode()
    response = browser.post(reverse("consent:revoke-everything"), {"confirm": "yes"}, follow=True)
    assert "All 1 of your permissions are withdrawn" in response.content.decode()
    assert not ConsentGrant.objects.filter(status="active").exists()


def test_unlink_and_withdraw_all_from_one_bank(browser: Client, link: AccountLink, bank: Partner) -> None:
    browser.post(_screen(link), _form(bank))
    browser.post(reverse("consent:bank-revoke-all", kwargs={"slug": bank.slug}), {"confirm": "yes"})
    assert not ConsentGrant.objects.filter(status="active").exists()
    browser.post(reverse("consent:link-unlink", kwargs={"link_id": link.pk}), {"confirm": "yes"})
    link.refresh_from_db()
    assert link.status == "unlinked"
    assert "You have not linked a bank yet" in browser.get(reverse("consent:dashboard")).content.decode()


def _make_grants(person: User, count: int) -> None:
    """Give `person` `count` active grants across banks (one link each, two scopes per bank)."""
    made = ConsentGrant.objects.filter(user=person).count()
    while made < count:
        bank = live_bank()
        published_scope(bank, "card_transactions.read", **CARD)
        link = link_for(person, bank)
        grant_for(link)
        grant_for(link, bank.scopes.get(code="card_transactions.read"), message_types=["receipt"])
        made += 2


def test_the_dashboard_query_count_does_not_grow_with_grants(
    browser: Client, person: User, django_assert_max_num_queries: Any
) -> None:
    _make_grants(person, 2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert browser.get(reverse("consent:dashboard")).status_code == 200
    _make_grants(person, 50)
    ConsentGrant.objects.filter(user=person).order_by("pk").first()
    with django_assert_max_num_queries(len(few)):
        response = browser.get(reverse("consent:dashboard"))
    assert response.content.decode().count("Withdraw<span") == 50


def test_receipts_read_and_download_with_a_verifiable_hash(browser: Client, link: AccountLink) -> None:
    grant = grant_for(link)
    event = ConsentEvent.objects.get(grant=grant, kind="granted")
    page = browser.get(reverse("consent:receipt", kwargs={"public_id": event.public_id}))
    assert page.status_code == 200
    assert event.receipt_sha256 in page.content.decode()
    download = browser.get(reverse("consent:receipt-download", kwargs={"public_id": event.public_id}))
    assert download["Content-Disposition"] == f'attachment; filename="consent-receipt-{event.public_id}.json"'
    document = json.loads(download.content)
    assert receipt_verifies(document)
    assert document["receipt"]["grant"]["scope"] == grant.scope.code
    stranger = Client()
    sign_in_verified(stranger, UserFactory())
    assert stranger.get(reverse("consent:receipt", kwargs={"public_id": event.public_id})).status_code == 404
    assert stranger.get(reverse("consent:receipt-download", kwargs={"public_id": event.public_id})).status_code == 404


def test_grant_detail_history_and_renewal(browser: Client, link: AccountLink) -> None:
    grant = grant_for(link)
    detail = browser.get(reverse("consent:grant-detail", kwargs={"grant_id": grant.pk})).content.decode()
    assert "History and receipts" in detail
    assert "Permission granted" in detail
    renew_url = reverse("consent:grant-renew", kwargs={"grant_id": grant.pk})
    page = browser.get(renew_url).content.decode()
    assert "Renew Your account balances?" in page
    response = browser.post(renew_url, {"scope_version": grant.scope_version_id}, follow=True)
    assert "Permission renewed" in response.content.decode()
    assert ConsentEvent.objects.filter(grant=grant, kind="renewed").exists()
    assert "Permission renewed" in browser.get(reverse("consent:history")).content.decode()


def test_switching_off_a_message_type_from_the_detail_page(browser: Client, link: AccountLink, bank: Partner) -> None:
    grant = grant_for(
        link, bank.scopes.get(code="card_transactions.read"), message_types=["receipt", "shipping_update"]
    )
    url = reverse("consent:grant-narrow", kwargs={"grant_id": grant.pk})
    response = browser.post(url, {"message_types": ["receipt"]}, follow=True)
    assert "no longer send the messages you switched off" in response.content.decode()
    grant.refresh_from_db()
    assert grant.message_types == ["receipt"]


def test_the_bank_list_offers_live_banks(browser: Client, bank: Partner) -> None:
    sandbox = live_bank(legal_name="Hidden Sandbox Bank", status=Partner.Status.SANDBOX)
    html = browser.get(reverse("consent:banks")).content.decode()
    assert "Link Northwind Savings" in html
    assert sandbox.legal_name not in html
