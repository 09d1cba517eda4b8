"""A sandbox key reaches only its bank's test users, a live key only a live bank's people, at intake and at send."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from delivery.models import Delivery, InboxMessage, PartnerEvent
from delivery.services import delivery_send_batch
from delivery.tests.factories import balance_event, consenting
from partners.models import Partner, PartnerMembership
from partners.services import partner_member_remove, partner_transition
from partners.tests.factories import api_key_for, member_of
from portal.tests.factories import PlatformStaffFactory

pytestmark = pytest.mark.django_db


def _post(client: Client, key: str, event: dict[str, Any]) -> Any:
    headers = {"authorization": f"Bearer {key}"}
    return client.post("/api/v1/events/", event, content_type="application/json", headers=headers)


def _send_all() -> None:
    delivery_send_batch(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))


def test_a_sandbox_key_cannot_reach_a_customer_who_is_not_a_test_user(client: Client) -> None:
    customer = consenting()  # a live bank, a member of the public who granted balance updates
    sandbox_key = api_key_for(customer.bank, "sandbox")
    refused = _post(client, sandbox_key, balance_event(customer.link.pk, event_id="s1"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "consent_required"
    assert not PartnerEvent.objects.exists()
    assert _post(client, customer.api_key, balance_event(customer.link.pk, event_id="l1")).status_code == 202


def test_a_sandbox_key_reaches_a_test_user_and_stops_when_they_leave_the_bank(client: Client) -> None:
    tester = consenting()
    member_of(tester.bank, PartnerMembership.Role.DEVELOPER, user=tester.user)
    sandbox_key = api_key_for(tester.bank, "sandbox")
    assert _post(client, sandbox_key, balance_event(tester.link.pk, event_id="first")).status_code == 202
    assert PartnerEvent.objects.get().environment == "sandbox"
    _send_all()
    assert InboxMessage.objects.filter(user=tester.user).count() == 1

    assert _post(client, sandbox_key, balance_event(tester.link.pk, event_id="second")).status_code == 202
    manager = member_of(tester.bank)
    partner_member_remove(membership=tester.bank.memberships.get(user=tester.user), actor=manager)
    _send_all()  # the send checks the key's world again: no longer a test user, so nothing is sent
    assert InboxMessage.objects.filter(user=tester.user).count() == 1
    second = Delivery.objects.get(event__idempotency_key="second")
    assert second.status == Delivery.Status.CANCELLED


def test_a_bank_moved_back_to_the_sandbox_reaches_only_its_test_users(client: Client) -> None:
    customer = consenting()
    tester = consenting(customer.bank)
    member_of(customer.bank, PartnerMembership.Role.DEVELOPER, user=tester.user)
    assert _post(client, customer.api_key, balance_event(customer.link.pk, event_id="queued")).status_code == 202
    member_of(customer.bank)  # its manager
    staff = PlatformStaffFactory()
    partner_transition(partner=customer.bank, to_status=Partner.Status.SUSPENDED, note="Incident", actor=staff)
    partner_transition(partner=customer.bank, to_status=Partner.Status.SANDBOX, note="Back to testing", actor=staff)

    _send_all()
    assert not InboxMessage.objects.filter(user=customer.user).exists()
    # The live key is refused in a sandbox bank's world; the sandbox key reaches the tester only.
    live_refused = _post(client, customer.api_key, balance_event(tester.link.pk, event_id="live-to-tester"))
    assert live_refused.json()["error"]["code"] == "consent_required"
    sandbox_key = api_key_for(customer.bank, "sandbox")
    assert _post(client, sandbox_key, balance_event(customer.link.pk, event_id="public")).status_code == 403
    assert _post(client, sandbox_key, balance_event(tester.link.pk, event_id="tester")).status_code == 202
