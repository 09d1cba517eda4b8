"""A task enqueued on commit runs in a real worker process; a rolled-back one is never sent."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from conftest import wait_for
from portal.celery import app
from portal.models import WorkerHeartbeat
from portal.tasks import worker_heartbeat

PROBE_QUEUE = "test-probe"  # no worker consumes it, so its messages can be counted


def _probe_queue_size() -> int:
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        result = channel.queue_declare(queue=PROBE_QUEUE, passive=False, durable=True, auto_delete=False)
        return int(result.message_count)


def _purge_probe_queue() -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue=PROBE_QUEUE, durable=True, auto_delete=False)
        conn.default_channel.queue_purge(PROBE_QUEUE)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_task_enqueued_on_commit_runs_in_the_worker_and_writes(celery_worker_process: Any) -> None:
    WorkerHeartbeat.objects.all().delete()
    with transaction.atomic():
        worker_heartbeat.delay_on_commit()
        # Nothing may reach the worker before the transaction commits.
        assert not WorkerHeartbeat.objects.exists()

    beat = wait_for(lambda: WorkerHeartbeat.objects.first(), timeout=30)
    assert beat.last_seen is not None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_enqueues_nothing() -> None:
    _purge_probe_queue()
    signature = worker_heartbeat.s().set(queue=PROBE_QUEUE)

    def enqueue_then_fail() -> None:
        with transaction.atomic():
            transaction.on_commit(signature.delay)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        enqueue_then_fail()
    assert _probe_queue_size() == 0

    with transaction.atomic():
        transaction.on_commit(signature.delay)
        assert _probe_queue_size() == 0  # still inside the transaction: not sent yet
    assert _probe_queue_size() == 1
    _purge_probe_queue()
