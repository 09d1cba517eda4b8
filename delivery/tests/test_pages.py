"""The inbox, a bank's delivery page and staff's dead letters, with pinned query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from delivery import services
from delivery.models import Delivery, InboxMessage
from delivery.tests.factories import balance_event, consenting
from partners.tests.factories import member_of
from portal.tests.factories import PlatformStaffFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db


def _delivered(c: Any, n: int = 3) -> None:
    services.event_intake(
        partner=c.bank,
        events=[
            balance_event(c.link.pk, event_id=f"e{i}", as_of=f"2026-01-0{i + 1}T00:00:00Z", mask="•••• 1")
            for i in range(n)
        ],
        idempotency_key=None,
        actor=None,
    )
    services.delivery_send_batch(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))


def test_the_inbox_shows_one_thread_per_bank_and_only_the_persons_messages(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    c = consenting()
    _delivered(c)
    stranger = consenting()
    sign_in_verified(client, c.user)
    with django_assert_max_num_queries(12):
        page = client.get("/me/inbox/")
    assert page.status_code == 200
    text = page.content.decode()
    assert c.bank.legal_name in text
    assert "Balance of" in text
    assert stranger.bank.legal_name not in text
    newest = InboxMessage.objects.filter(user=c.user).order_by("-pk").first()
    poll = client.get(f"/me/inbox/new/?after={newest.pk - 1}").json()
    assert [m["id"] for m in poll["messages"]] == [newest.pk]
    client.post("/me/inbox/read/")
    assert not InboxMessage.objects.filter(user=c.user, read_at__isnull=True).exists()


def test_a_bank_sees_its_figures_and_staff_replay_dead_letters(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    c = consenting()
    _delivered(c)
    Delivery.objects.filter(status="superseded").update(status="dead", last_error="gave up")
    sign_in_verified(client, member_of(c.bank))
    with django_assert_max_num_queries(15):
        page = client.get(f"/bank/{c.bank.slug}/deliveries/")
    assert page.status_code == 200
    assert "Success rate" in page.content.decode()
    assert "vendor/chartjs/chart.umd.js" in page.content.decode()
    sign_in_verified(client, PlatformStaffFactory())
    with django_assert_max_num_queries(15):
        staff = client.get("/staff/deliveries/")
    assert "gave up" in staff.content.decode()
    client.post("/staff/deliveries/replay/", {"all": "1"})
    assert not Delivery.objects.filter(status="dead").exists()
