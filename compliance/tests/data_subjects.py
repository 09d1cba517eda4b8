"""Two people with a history at the same bank, for the data-request tests: links, grants, updates, inbox, trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from compliance.audit import audit_append
from consent.models import AccountLink
from consent.tests.factories import grant_for, link_for
from delivery.models import Delivery, DeliveryAttempt, InboxMessage, PartnerEvent
from delivery.tests.factories import delivery_bank
from partners.models import Partner, WebhookEndpoint
from partners.tests.factories import webhook_endpoint_for
from portal.models import User
from portal.tests.factories import UserFactory


@dataclass
class Subject:
    """A person and the distinctive values that must appear in their archive and vanish on erasure."""

    user: User
    name: str
    email: str
    links: list[AccountLink]
    merchant: str
    inbox_title: str


def history_for(user: User, bank: Partner, *, merchant: str, updates: int = 3) -> list[AccountLink]:
    """Give `user` a link with a grant at `bank`, `updates` delivered receipts with attempts and inbox messages."""
    link = link_for(user, bank)
    grant_for(link)
    for number in range(updates):
        event = PartnerEvent.objects.create(
            partner=bank,
            link=link,
            type="receipt",
            payload={"merchant": merchant, "amount": "12.50", "currency": "EUR", "items": [], "purchased_at": "x"},
            idempotency_key=f"{user.pk}-{number}",
            request_hash="0" * 64,
            status=PartnerEvent.Status.DELIVERED,
        )
        delivery = Delivery.objects.create(
            event=event, partner=bank, channel="inbox", status="delivered", delivered_at=timezone.now(), attempts=1
        )
        DeliveryAttempt.objects.create(delivery=delivery, status_code=200, succeeded=True, response_excerpt=merchant)
        InboxMessage.objects.create(
            user=user, partner=bank, delivery=delivery, type="receipt", title=f"Receipt from {merchant}", body=merchant
        )
    return [link]


def subject(bank: Partner, *, name: str, email: str, merchant: str, updates: int = 3) -> Subject:
    """Return a person named `name` with a history at `bank`, and an audit entry naming their address."""
    user = UserFactory(full_name=name, email=email)
    links = history_for(user, bank, merchant=merchant, updates=updates)
    # A failed sign-in names the address typed, and the entry concerns no one: erasure must find it too.
    audit_append(action="auth.login_failed", data={"email": email}, ip="203.0.113.9")
    # Somewhere else the address is written down, about no one: only erasure's thorough scan finds it.
    audit_append(action="partner.contact_noted", data={"contact": email})
    return Subject(user, name, email, links, merchant, f"Receipt from {merchant}")


@dataclass
class World:
    bank: Partner
    endpoint: WebhookEndpoint
    alice: Subject
    bob: Subject


def two_subjects(endpoint_url: str = "https://bank.example/hooks") -> World:
    """Return a live bank with an endpoint, and two people with a history there."""
    bank = delivery_bank()
    endpoint = webhook_endpoint_for(bank, url=endpoint_url)
    alice = subject(bank, name="Zelda Quartermain", email="zelda.quartermain@example.test", merchant="Quillbakery")
    bob = subject(bank, name="Bartholomew Ossington", email="b.ossington@example.test", merchant="Ossmart")
    return World(bank, endpoint, alice, bob)


def long_ago(days: int) -> timedelta:
    """Return a span of `days` days (a readable name in the retention tests)."""
    return timedelta(days=days)
