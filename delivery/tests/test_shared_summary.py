"""The consent dashboard says what each bank sent, counted by delivery."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from delivery import services
from delivery.demo_gateway import GatewayReceiver
from delivery.models import Delivery
from delivery.tests.factories import balance_event, consenting
from portal.tests.factories import UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db


def _deliver(c: Any, count: int) -> None:
    services.event_intake(
        partner=c.bank,
        actor=None,
        idempotency_key=None,
        events=[balance_event(c.link.pk, event_id=f"s{n}") for n in range(count)],
    )
    services.delivery_send_batch(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))


@pytest.mark.parametrize("count", [2, 5])
def test_dashboard_says_what_the_bank_sent_with_a_flat_query_count(
    client: Client, gateway: GatewayReceiver, count: int, django_assert_max_num_queries: Any
) -> None:
    c = consenting()
    _deliver(c, count)
    sign_in_verified(client, c.user)
    client.get("/me/")  # warm the session and the time-zone cookie path
    with django_assert_max_num_queries(30):
        html = client.get("/me/").content.decode()
    assert f"{c.bank.legal_name} sent {count} balance update messages" in html


def test_another_persons_deliveries_are_not_counted(client: Client, gateway: GatewayReceiver) -> None:
    c = consenting()
    _deliver(c, 2)
    sign_in_verified(client, UserFactory())
    assert "sent 2 balance update" not in client.get("/me/").content.decode()


def test_expiry_reminder_reaches_the_inbox_as_well_as_email(django_capture_on_commit_callbacks: Any) -> None:
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from consent.models import ConsentGrant
    from consent.services import consent_send_expiry_reminders
    from delivery.models import InboxMessage

    c = consenting()
    ConsentGrant.objects.filter(pk=c.grant.pk).update(expires_at=timezone.now() + timedelta(days=10))
    with django_capture_on_commit_callbacks(execute=True):
        consent_send_expiry_reminders()
    message = InboxMessage.objects.get(user=c.user)
    assert message.type == InboxMessage.Type.CONSENT_REMINDER
    assert c.bank.legal_name in message.title
    assert len(mail.outbox) == 1
    client = Client()
    sign_in_verified(client, c.user)
    page = client.get("/me/inbox/", follow=True)
    assert page.status_code == 200
    assert "end soon" in page.content.decode()
