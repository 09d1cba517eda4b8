"""The outbox relay: deliveries, webhook and bot messages onto the broker after commit, and the sweeper."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..chat.sending import bot_messages_sweep
from ..models import DEFAULT_QUEUE, Delivery, WebhookMessage

logger = logging.getLogger(__name__)


def publish_deliveries(rows: Iterable[tuple[int, str, int]], *, stamped: bool = False) -> int:
    """Enqueue deliveries in batches per queue and bank; mark them enqueued. Return how many went.

    Rows that intake `stamped` as enqueued when it stored them (saving an UPDATE on the hot path) have
    the stamp taken off again if the broker refuses them, so the sweeper picks them up at once.
    """
    from .. import tasks  # tasks import services: import here to keep the cycle out of module load

    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for pk, queue, partner_id in rows:
        groups[(queue, partner_id)].append(pk)
    sent: list[int] = []
    refused: list[int] = []
    size = settings.DELIVERY_BATCH_SIZE
    for (queue, partner_id), ids in groups.items():
        task = tasks.deliver_fraud_batch if queue != DEFAULT_QUEUE else tasks.deliver_batch
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            try:
                task.apply_async(
                    args=(chunk, partner_id),
                    argsrepr=f"([{len(chunk)} deliveries from {chunk[0]}], {partner_id})",  # not 500 reprs per message
                    retry=True,
                    retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
                )
            except Exception:
                # The broker is away: the rows stay un-enqueued and the sweeper sends them later.
                logger.warning("Could not enqueue %d deliveries; the sweeper will retry", len(chunk), exc_info=True)
                refused.extend(chunk)
                continue
            sent.extend(chunk)
    if stamped and refused:
        Delivery.objects.filter(pk__in=refused).update(enqueued_at=None)
    elif sent and not stamped:
        Delivery.objects.filter(pk__in=sent).update(enqueued_at=timezone.now())
    return len(sent)


def publish_webhooks(ids: list[int]) -> int:
    """Enqueue one task per webhook message; mark them enqueued. Return how many went."""
    from .. import tasks

    sent = []
    for pk in ids:
        try:
            tasks.send_webhook.apply_async(
                args=(pk,), retry=True, retry_policy={"max_retries": 1, "interval_start": 0, "interval_max": 0.5}
            )
        except Exception:
            logger.warning("Could not enqueue webhook %s; the sweeper will retry", pk, exc_info=True)
            continue
        sent.append(pk)
    if sent:
        WebhookMessage.objects.filter(pk__in=sent).update(enqueued_at=timezone.now())
    return len(sent)


def outbox_sweep(
    *,
    now: datetime | None = None,
    reenqueue_after: timedelta | None = None,
    limit: int = 5000,
) -> int:
    """Enqueue what the broker never got (or lost) and due retries; return how many rows."""
    now = now or timezone.now()
    reenqueue_after = settings.DELIVERY_REENQUEUE_AFTER if reenqueue_after is None else reenqueue_after
    due = Delivery.objects.filter(status__in=Delivery.OPEN_STATUSES, next_attempt_at__lte=now).filter(
        Q(enqueued_at__isnull=True, created_at__lte=now - timedelta(seconds=2))
        | Q(enqueued_at__lt=now - reenqueue_after)
    )
    rows = list(due.order_by("next_attempt_at").values_list("pk", "queue", "partner_id")[:limit])
    count = publish_deliveries(rows) if rows else 0
    webhooks = list(
        WebhookMessage.objects.filter(status=WebhookMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - reenqueue_after))
        .values_list("pk", flat=True)[:limit]
    )
    if webhooks:
        count += publish_webhooks(webhooks)
    return count + bot_messages_sweep(now=now, reenqueue_after=reenqueue_after, limit=limit)
