"""Thin Celery tasks of delivery: ids in, one service call; fraud alerts travel on their own queue."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError

from . import services
from .chat.sending import bot_message_send

logger = logging.getLogger(__name__)

BATCH_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "soft_time_limit": 60,
    "time_limit": 90,
    "max_retries": None,
}


@contextmanager
def bank_slot(partner_id: int) -> Iterator[bool]:
    """Yield True while holding one of the bank's concurrent batch slots (shared through the cache)."""
    key = f"delivery:inflight:{partner_id}"
    cache.add(key, 0, timeout=300)  # the timeout frees slots a killed worker never gave back
    try:
        held = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=300)
        held = 1
    try:
        yield held <= settings.DELIVERY_BANK_CONCURRENCY
    finally:
        with suppress(ValueError):
            cache.decr(key)


def _deliver(task: Task, delivery_ids: list[int], partner_id: int) -> None:
    with bank_slot(partner_id) as ok:
        if not ok:
            # This bank already has its share of workers busy: let other banks' batches run first.
            raise task.retry(countdown=1)
        try:
            outcome = services.delivery_send_batch(delivery_ids=delivery_ids)
        except OperationalError as exc:  # a deadlock or a lost connection: the batch kept nothing; send it again
            raise task.retry(exc=exc, countdown=2) from exc
    logger.info("batch of bank %s: %s", partner_id, outcome)


@shared_task(name="delivery.tasks.deliver_batch", **BATCH_OPTIONS)
def deliver_batch(self: Task, delivery_ids: list[int], partner_id: int) -> None:
    """Send one bank's batch of deliveries (balance updates, receipts, shipping updates)."""
    _deliver(self, delivery_ids, partner_id)


@shared_task(name="delivery.tasks.deliver_fraud_batch", **BATCH_OPTIONS)
def deliver_fraud_batch(self: Task, delivery_ids: list[int], partner_id: int) -> None:
    """Send one bank's batch of fraud alerts (routed to the `fraud` queue)."""
    _deliver(self, delivery_ids, partner_id)


@shared_task(
    name="delivery.tasks.send_webhook",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def send_webhook(message_id: int) -> None:
    """Send one signed webhook message to a bank's endpoint."""
    services.webhook_send(message_id=message_id)


@shared_task(
    name="delivery.tasks.send_bot_message",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def send_bot_message(message_id: int) -> None:
    """Send one signed message (a person's chat message or fraud-alert answer) to a bank's bot."""
    bot_message_send(message_id=message_id)


@shared_task(name="delivery.tasks.sweep_outbox", acks_late=False, ignore_result=True, time_limit=60)
def sweep_outbox() -> None:
    """Enqueue outbox rows the broker never got, and due retries."""
    services.outbox_sweep()


@shared_task(name="delivery.tasks.noop", acks_late=True, ignore_result=True)
def noop(index: int) -> None:
    """Do nothing: the benchmark's baseline of one bare task per message."""
