"""The support lookup: staff only, a reason every time, audited, read-only, a pinned query count."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from compliance.models import AuditEntry
from consent.tests.factories import grant_for, link_for
from delivery import services as delivery_services
from delivery.tests.factories import balance_event, consenting, delivery_bank
from portal.tests.factories import PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db

URL = "/staff/support/"
REASON = "Ticket 4411: no balance updates since Monday."


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    sign_in_verified(client, PlatformStaffFactory())
    return client


def _deliveries(person: Any, count: int) -> None:
    items = delivery_services.event_intake(
        partner=person.bank,
        events=[balance_event(person.link.pk, event_id=f"support-{uuid.uuid4()}") for _ in range(count)],
        idempotency_key=None,
        actor=None,
    )
    assert all(item.outcome == "accepted" for item in items), items


def test_a_lookup_shows_links_grants_and_deliveries_and_is_audited_with_its_reason(staff_client: Client) -> None:
    person = consenting()
    _deliveries(person, 2)
    stranger = consenting()
    response = staff_client.post(URL, {"email": person.user.email.upper(), "reason": REASON})
    html = response.content.decode()
    assert response.status_code == 200
    assert person.link.account_mask in html
    assert person.grant.scope_version.name in html
    assert html.count("Balance update") >= 2
    assert stranger.link.account_mask not in html
    entry = AuditEntry.objects.get(action="support.lookup")
    assert entry.data == {"reason": REASON, "found": True}
    assert entry.person_id == person.user.pk
    assert person.user.email not in reverse("support:lookup")  # the address never travels in the URL


def test_nobody_found_is_said_plainly_and_still_audited(staff_client: Client) -> None:
    response = staff_client.post(URL, {"email": "nobody@example.test", "reason": REASON})
    assert "Nobody signs in with that address" in response.content.decode()
    assert AuditEntry.objects.get(action="support.lookup").data == {"reason": REASON, "found": False}


def test_a_lookup_needs_a_reason_and_a_real_address(staff_client: Client) -> None:
    response = staff_client.post(URL, {"email": "not-an-address", "reason": "why"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address." in html
    assert "at least 10 characters" in html
    assert not AuditEntry.objects.filter(action="support.lookup").exists()


def test_only_platform_staff_may_look_people_up() -> None:
    person = consenting()
    for user in (UserFactory(), person.user):
        client = Client()
        sign_in_verified(client, user)
        response = client.post(URL, {"email": person.user.email, "reason": REASON})
        assert response.status_code in (302, 403, 404)
    assert not AuditEntry.objects.filter(action="support.lookup").exists()


def test_the_lookup_costs_the_same_queries_for_few_or_many_rows(
    staff_client: Client, django_assert_max_num_queries: Any
) -> None:
    person = consenting()
    _deliveries(person, 2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        staff_client.post(URL, {"email": person.user.email, "reason": REASON})
    for _ in range(3):
        bank = delivery_bank()
        grant_for(link_for(person.user, bank))
    _deliveries(person, 25)
    with django_assert_max_num_queries(len(few)):
        response = staff_client.post(URL, {"email": person.user.email, "reason": REASON})
    assert response.content.decode().count('<td data-label="When">') == 20
