"""Routing and fairness of the batch tasks: fraud alerts travel alone; a bank at its limit steps aside."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import Retry

from consent.tests.factories import grant_for
from delivery import services, tasks
from delivery.models import Delivery
from delivery.tests.factories import balance_event, consenting, published_balances_scope
from portal.celery import app

pytestmark = pytest.mark.django_db


def test_fraud_batches_are_routed_to_the_fraud_queue_and_the_rest_to_default() -> None:
    route = app.amqp.router.route
    assert route({}, tasks.deliver_fraud_batch.name)["queue"].name == "fraud"
    assert route({}, tasks.deliver_batch.name)["queue"].name == "default"
    assert route({}, tasks.send_webhook.name)["queue"].name == "default"


def test_intake_sends_fraud_alerts_on_their_own_task_and_queue(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    c = consenting()
    grant_for(c.link, published_balances_scope(c.bank, code="fraud.push", purposes=["fraud_alerts"]))
    published: list[tuple[str, list[int]]] = []
    for task, queue in ((tasks.deliver_batch, "default"), (tasks.deliver_fraud_batch, "fraud")):
        monkeypatch.setattr(task, "apply_async", lambda queue=queue, **kw: published.append((queue, kw["args"][0])))
    fraud = {
        "type": "fraud_alert",
        "link": c.link.pk,
        "event_id": "f1",
        "payload": {"account_mask": "•••• 1", "amount": "99.00", "currency": "GBP", "merchant": "Shop",
                    "occurred_at": "2026-01-01T10:00:00Z"},
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        items = services.event_intake(
            partner=c.bank, events=[balance_event(c.link.pk, event_id="b1"), fraud], idempotency_key=None, actor=None
        )
    assert [item.outcome for item in items] == ["accepted", "accepted"]
    by_queue = {queue: set(ids) for queue, ids in published}
    assert by_queue["fraud"] == set(Delivery.objects.filter(event__type="fraud_alert").values_list("pk", flat=True))
    assert by_queue["default"] == set(Delivery.objects.exclude(event__type="fraud_alert").values_list("pk", flat=True))
    assert set(Delivery.objects.values_list("queue", flat=True)) == {"fraud", "default"}


def test_a_bank_at_its_concurrency_limit_steps_aside_and_others_go_on(settings: Any) -> None:
    settings.DELIVERY_BANK_CONCURRENCY = 2
    with tasks.bank_slot(1) as first, tasks.bank_slot(1) as second, tasks.bank_slot(1) as third:
        with tasks.bank_slot(2) as other_bank:
            assert (first, second, third, other_bank) == (True, True, False, True)
        # The busy bank's next batch is retried a second later instead of taking a worker.
        with pytest.raises(Retry):
            tasks.deliver_batch.apply(args=([1], 1), throw=True)
    with tasks.bank_slot(1) as again:  # the slots came back when the batches ended
        assert again
