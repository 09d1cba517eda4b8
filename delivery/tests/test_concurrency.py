"""Two batches holding the same deliveries at once (a relay and the sweeper, say): each is sent once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from delivery import services
from delivery.demo_gateway import GatewayReceiver
from delivery.models import Delivery, InboxMessage
from delivery.tests.factories import balance_event, consenting

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer"),
]


def test_the_same_ids_in_two_batches_at_once_are_sent_once(
    gateway: GatewayReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The relay stays quiet: a worker running for other tests must not send these first.
    monkeypatch.setattr("delivery.services.intake.publish_deliveries", lambda *args, **kwargs: 0)
    c = consenting()
    services.event_intake(
        partner=c.bank, events=[balance_event(c.link.pk, event_id=f"e{i}") for i in range(20)], idempotency_key=None,
        actor=None,
    )  # fmt: skip
    ids = list(Delivery.objects.values_list("pk", flat=True))
    gateway.state.delay_seconds = 0.5  # the first batch is still sending when the second starts
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def batch() -> None:
        try:
            start.wait(5)
            outcomes.append(services.delivery_send_batch(delivery_ids=ids))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=batch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(outcomes) == 2
    # Each row was taken by one batch: the other skipped it (usually one batch takes all 40).
    assert sum(outcome.taken for outcome in outcomes) == 40
    assert sum(outcome.delivered for outcome in outcomes) == 40
    assert InboxMessage.objects.filter(user=c.user).count() == 20
    assert gateway.state.stats() == {"unique": 20, "duplicates": 0, "rejected": 0}
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DELIVERED}
