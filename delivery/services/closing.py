"""How a sent batch ends: final statuses, retries scheduled, dead letters, each event's status, the bank told."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F

from compliance.audit import Actor, audit_append
from partners.models import WebhookEvent

from ..backoff import retry_delay_for
from ..models import DEFAULT_QUEUE, Delivery, PartnerEvent
from ..outbound import PostResult
from .webhooks import webhook_notify

if TYPE_CHECKING:  # sending imports this module to close its batches
    from .sending import BatchOutcome, Outgoing

# Retries due sooner than this are scheduled on the broker (countdown); later ones wait for the sweeper.
BROKER_COUNTDOWN_LIMIT = 60.0


def settle_batch(
    *,
    closing: dict[str, list[Outgoing]],
    failed: list[tuple[Outgoing, PostResult]],
    poison: list[Outgoing],
    event_ids: set[int],
    at: datetime,
    outcome: BatchOutcome,
) -> None:
    """Close, retry or dead-letter each delivery of a batch; then set its events' statuses and tell the banks."""
    close_deliveries(closing, at, outcome)
    dead = fail_deliveries(failed, at, outcome) + poison
    if poison:
        mark_dead(poison, at)
        outcome.dead += len(poison)
    rollup_events(event_ids)
    if dead:
        notify_dead(dead)


def close_deliveries(closing: dict[str, list[Outgoing]], at: datetime, outcome: BatchOutcome) -> None:
    """Give each delivery of `closing` its final status: delivered, or closed unsent with the reason."""
    for status, rows in closing.items():
        if not rows:
            continue
        values: dict[str, Any] = {"status": status}
        if status == Delivery.Status.DELIVERED:
            values["delivered_at"] = at
            values["attempts"] = F("attempts") + 1
            outcome.delivered += len(rows)
        else:
            values["last_error"] = rows[0].last_error or Delivery.Status(status).label
            outcome.cancelled += len(rows)
        Delivery.objects.filter(pk__any=[d.pk for d in rows]).update(**values)


def fail_deliveries(failed: list[tuple[Outgoing, PostResult]], at: datetime, outcome: BatchOutcome) -> list[Outgoing]:
    """Schedule retries for failed sends; return those that are now dead letters."""
    from .. import tasks

    dead: list[Outgoing] = []
    for delivery, result in failed:
        delivery.attempts += 1
        error = result.failure
        delay = retry_delay_for(result, attempt=delivery.attempts)
        deliver_by = delivery.deliver_by
        if delay is not None and deliver_by is not None and at + timedelta(seconds=delay) > deliver_by:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.EXPIRED, attempts=delivery.attempts, last_error=error
            )
            outcome.cancelled += 1
            continue
        if delay is None:
            delivery.last_error = error
            dead.append(delivery)
            continue
        soon = delay <= BROKER_COUNTDOWN_LIMIT
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED,
            attempts=delivery.attempts,
            next_attempt_at=at + timedelta(seconds=delay),
            enqueued_at=at if soon else None,
            last_error=error,
        )
        outcome.retrying += 1
        if soon:
            task = tasks.deliver_batch if delivery.queue == DEFAULT_QUEUE else tasks.deliver_fraud_batch
            transaction.on_commit(
                partial(task.apply_async, args=([delivery.pk], delivery.partner_id), countdown=delay), robust=True
            )
    if dead:
        mark_dead(dead, at)
        outcome.dead += len(dead)
    return dead


def mark_dead(rows: list[Outgoing], at: datetime) -> None:
    """Make each of `rows` a dead letter, with its last error; one audit entry per bank says which."""
    for delivery in rows:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.DEAD,
            attempts=max(delivery.attempts, 1),
            last_error=delivery.last_error,
        )
    by_bank: dict[int, list[Outgoing]] = defaultdict(list)
    for delivery in rows:
        by_bank[delivery.partner_id].append(delivery)
    for partner_id, dead in sorted(by_bank.items()):
        audit_append(
            action="delivery.dead_letter",
            actor=Actor.system("delivery"),
            data={
                "partner": partner_id,
                "deliveries": [d.pk for d in dead],
                "errors": sorted({d.last_error for d in dead})[:5],
                "at": at.isoformat(),
            },
        )


def rollup_events(event_ids: set[int]) -> None:
    """Set each event's status from its deliveries' statuses."""
    by_event: dict[int, list[str]] = defaultdict(list)
    for event_id, status in Delivery.objects.filter(event_id__any=list(event_ids)).values_list("event_id", "status"):
        by_event[event_id].append(status)
    updates: dict[str, list[int]] = defaultdict(list)
    for event_id, statuses in by_event.items():
        updates[_event_status(statuses)].append(event_id)
    for status, ids in updates.items():
        PartnerEvent.objects.filter(pk__any=ids).exclude(status=status).update(status=status)


def _event_status(statuses: list[str]) -> str:
    if any(status in Delivery.OPEN_STATUSES for status in statuses):
        return PartnerEvent.Status.ACCEPTED
    delivered = sum(1 for status in statuses if status == Delivery.Status.DELIVERED)
    if delivered == len(statuses):
        return PartnerEvent.Status.DELIVERED
    if delivered:
        return PartnerEvent.Status.PARTIALLY_DELIVERED
    if Delivery.Status.DEAD in statuses:
        return PartnerEvent.Status.FAILED
    if all(status == Delivery.Status.CANCELLED for status in statuses):
        return PartnerEvent.Status.BLOCKED
    return PartnerEvent.Status.CANCELLED


def notify_dead(dead: list[Outgoing]) -> None:
    """Tell each bank, by a `delivery.failed` webhook, which of its deliveries became dead letters."""
    by_partner: dict[int, list[Outgoing]] = defaultdict(list)
    for delivery in dead:
        by_partner[delivery.partner_id].append(delivery)
    for partner_id, rows in by_partner.items():
        webhook_notify(
            partner_id=partner_id,
            event_type=WebhookEvent.DELIVERY_FAILED,
            data={
                "deliveries": [
                    {"id": d.pk, "event": d.event_id, "channel": d.channel, "error": d.last_error} for d in rows
                ]
            },
        )
