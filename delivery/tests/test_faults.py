"""Faults delivery must survive, against a real worker process, the real broker and the loopback gateway.

After each: nothing lost, nothing shown twice, nothing sent after a revoke commits.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from kombu.exceptions import OperationalError as BrokerDown

from conftest import ARTIFACTS, CeleryWorkerProcess, wait_for
from consent.services import consent_revoke
from delivery import services
from delivery.demo_gateway import GatewayReceiver
from delivery.models import Delivery, InboxMessage, PartnerEvent
from delivery.tests.conftest import PrivateRedis
from delivery.tests.factories import balance_event, consenting

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _intake(c: Any, events: list[dict[str, Any]], key: str | None = None) -> list[Any]:
    return services.event_intake(partner=c.bank, events=events, idempotency_key=key, actor=None)


def _all_settled() -> bool:
    return not Delivery.objects.open().exists()


def _assert_each_once(c: Any, gateway: GatewayReceiver, events: int) -> None:
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 2 * events
    assert InboxMessage.objects.filter(user=c.user).count() == events
    gateway_ids = {f"dlv_{pk}" for pk in Delivery.objects.filter(channel="gateway").values_list("pk", flat=True)}
    assert set(gateway.state.messages) == gateway_ids  # every gateway delivery arrived, none unknown


def _sweep_until_settled(timeout: float = 40) -> None:
    """Play beat: run the sweeper now and then (short thresholds) until every delivery settled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _all_settled():
            return
        services.outbox_sweep(reenqueue_after=timedelta(seconds=4))
        time.sleep(1)
    pytest.fail(f"still open: {list(Delivery.objects.open().values_list('pk', 'status', 'enqueued_at'))}")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_a_worker_killed_mid_batch_loses_nothing_and_shows_nothing_twice(
    celery_worker_process: Any, gateway: GatewayReceiver, settings: Any
) -> None:
    settings.DELIVERY_BATCH_SIZE = 10
    gateway.state.delay_seconds = 1.0  # each batch sits at the gateway for a second: time to kill it
    c = consenting()
    _intake(c, [balance_event(c.link.pk, event_id=f"k{i}") for i in range(30)])
    wait_for(lambda: gateway.state.arrivals > 0, timeout=20)  # a batch is at the gateway: its worker is mid-send
    assert celery_worker_process.process is not None
    pool = _children(celery_worker_process.process.pid)
    assert pool, "the worker has no pool processes to kill"
    for pid in pool:
        os.kill(pid, signal.SIGKILL)
    gateway.state.delay_seconds = 0.0
    _sweep_until_settled()
    _assert_each_once(c, gateway, 30)


def test_a_broker_down_at_intake_loses_nothing(
    celery_worker_process: Any, gateway: GatewayReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = consenting()

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise BrokerDown("connection refused")

    with monkeypatch.context() as patched:
        patched.setattr("delivery.tasks.deliver_batch.apply_async", broker_down)
        items = _intake(c, [balance_event(c.link.pk, event_id=f"b{i}") for i in range(5)])
    assert {item.outcome for item in items} == {"accepted"}  # the bank's request succeeded all the same
    assert Delivery.objects.filter(enqueued_at__isnull=True).count() == 10
    time.sleep(2.1)
    assert services.outbox_sweep() == 10
    wait_for(_all_settled, timeout=20)
    _assert_each_once(c, gateway, 5)


@contextmanager
def _publishing_to(broker_url: str) -> Iterator[None]:
    """Have this process's Celery app (the relay and the sweeper) publish to `broker_url` for a while."""
    from portal.celery import app

    def point_at(url: str | None) -> None:
        app.conf.broker_write_url = url  # what publishing connects to; None: the configured broker again
        app._pool = None  # the connection pools were made for the other broker: let them be made again
        app.amqp._producer_pool = None

    point_at(broker_url)
    try:
        yield
    finally:
        point_at(None)


def test_the_broker_restarted_loses_nothing_and_shows_nothing_twice(
    gateway: GatewayReceiver, private_redis: PrivateRedis, settings: Any
) -> None:
    """Redis dies holding queued batches (it keeps nothing on disk), intake goes on while it is down,
    then it comes back empty: the worker reconnects, the sweeper re-sends, everything arrives once."""
    settings.DELIVERY_BATCH_SIZE = 10
    worker = CeleryWorkerProcess(ARTIFACTS / "celery-worker-broker-restart.log", broker_url=private_redis.url)
    with _publishing_to(private_redis.url):
        worker.start()
        try:
            c = consenting()
            _intake(c, [balance_event(c.link.pk, event_id=f"a{i}") for i in range(5)])
            wait_for(_all_settled, timeout=20)

            # Batches queued in the broker when it dies: a slow gateway keeps the worker on the first one.
            gateway.state.delay_seconds = 1.0
            before = gateway.state.arrivals
            _intake(c, [balance_event(c.link.pk, event_id=f"q{i}") for i in range(20)])
            wait_for(lambda: gateway.state.arrivals > before, timeout=20)
            private_redis.kill()

            # While it is down the bank's posts still succeed; what could not be handed over waits.
            items = _intake(c, [balance_event(c.link.pk, event_id=f"d{i}") for i in range(5)])
            assert {item.outcome for item in items} == {"accepted"}
            waiting = Delivery.objects.filter(event__idempotency_key__startswith="d", enqueued_at__isnull=True)
            assert waiting.count() == 10

            gateway.state.delay_seconds = 0.0
            private_redis.start()  # back, and empty
            _sweep_until_settled(timeout=60)
            _assert_each_once(c, gateway, 30)
        finally:
            worker.stop()


def test_a_gateway_down_for_a_while_then_back_gets_everything_once(
    celery_worker_process: Any, gateway: GatewayReceiver
) -> None:
    gateway.state.fail_next, gateway.state.retry_after = 3, "1"
    c = consenting()
    _intake(c, [balance_event(c.link.pk, event_id=f"g{i}") for i in range(10)])
    wait_for(_all_settled, timeout=30)
    _assert_each_once(c, gateway, 10)
    attempts = Delivery.objects.filter(channel="gateway").values_list("attempts", flat=True)
    assert min(attempts) >= 2  # it did fail before it got through
    assert sum(attempts) >= 3 + 1


def test_the_same_event_posted_twice_at_once_is_stored_and_delivered_once(
    celery_worker_process: Any, gateway: GatewayReceiver
) -> None:
    c = consenting()
    event = balance_event(c.link.pk, event_id="twice")
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def post() -> None:
        try:
            barrier.wait(5)
            answers.extend(_intake(c, [event]))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(item.outcome for item in answers) == ["accepted", "replayed"]
    assert len({item.event.pk for item in answers}) == 1
    wait_for(_all_settled, timeout=20)
    assert PartnerEvent.objects.count() == 1
    _assert_each_once(c, gateway, 1)
    assert gateway.state.stats()["duplicates"] == 0


def test_a_poison_payload_is_dead_lettered_and_the_worker_carries_on(
    celery_worker_process: Any, gateway: GatewayReceiver
) -> None:
    c = consenting()
    with transaction.atomic():
        _intake(c, [balance_event(c.link.pk, event_id="good"), balance_event(c.link.pk, event_id="poison")])
        PartnerEvent.objects.filter(idempotency_key="poison").update(payload={"balance": ["not", "money"]})
    wait_for(_all_settled, timeout=20)
    assert set(Delivery.objects.filter(event__idempotency_key="poison").values_list("status", flat=True)) == {"dead"}
    assert set(Delivery.objects.filter(event__idempotency_key="good").values_list("status", flat=True)) == {"delivered"}
    _intake(c, [balance_event(c.link.pk, event_id="after")])
    wait_for(_all_settled, timeout=20)
    assert InboxMessage.objects.filter(user=c.user).count() == 2


def test_a_revoke_while_deliveries_are_queued_means_zero_sends_after_it_commits(
    celery_worker_process: Any, gateway: GatewayReceiver, settings: Any
) -> None:
    settings.DELIVERY_BATCH_SIZE = 10
    gateway.state.delay_seconds = 0.3
    c = consenting()
    _intake(c, [balance_event(c.link.pk, event_id=f"r{i}") for i in range(100)])
    wait_for(lambda: gateway.state.stats()["unique"] >= 10, timeout=20)
    consent_revoke(grant=c.grant, actor=c.user)
    committed_at = time.time()
    inbox_at_commit = InboxMessage.objects.filter(user=c.user).count()
    gateway_at_commit = gateway.state.stats()["unique"]
    wait_for(_all_settled, timeout=30)
    time.sleep(1.5)  # anything still in flight would land now
    assert InboxMessage.objects.filter(user=c.user).count() == inbox_at_commit
    assert gateway.state.stats()["unique"] == gateway_at_commit
    assert max(gateway.state.received_at.values()) <= committed_at
    landed_mid_burst = Delivery.objects.filter(status=Delivery.Status.CANCELLED).exists() and gateway_at_commit < 100
    if connection.vendor == "sqlite" and not landed_mid_burst:
        # SQLite runs one writer at a time and does not queue them fairly: the revoke may only get in
        # once the burst is sent. Nothing was sent after it (asserted above); PostgreSQL proves the rest.
        pytest.skip("on SQLite the revoke could not get in before the burst was sent this time")
    assert landed_mid_burst  # the revoke did land while deliveries were queued
