"""Sending a batch of deliveries: lock the due ones, check consent again, write the inbox, POST the gateway."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from consent.rules import consent_check_many

from ..bulk import bulk_insert
from ..message_texts import message_text
from ..models import Delivery, DeliveryAttempt, InboxMessage, PartnerEvent
from ..outbound import PostResult, post_signed
from .closing import settle_batch


@dataclass
class BatchOutcome:
    """Counts of what one batch did, for logs and tests."""

    taken: int = 0
    delivered: int = 0
    cancelled: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0


@dataclass(slots=True)
class Outgoing:
    """A due delivery with what sending it needs, read as plain values (no model instances)."""

    pk: int
    channel: str
    queue: str
    partner_id: int
    bank: str
    attempts: int
    event_id: int
    type: str
    payload: dict[str, Any]
    link_id: int
    user_id: int
    deliver_by: datetime | None
    created_at: datetime
    supersession_key: str
    supersedes_at: datetime | None
    environment: str  # of the key that posted the event; "" when the platform did
    last_error: str = ""

    @property
    def public_id(self) -> str:
        """Return the id receivers dedupe on."""
        return Delivery.public_id_for(self.pk)


_OUTGOING_FIELDS = (
    "pk", "channel", "queue", "partner_id", "partner__slug", "attempts", "event_id", "event__type", "event__payload",
    "event__link_id", "event__link__user_id", "event__deliver_by", "event__created_at", "event__supersession_key",
    "event__supersedes_at", "event__environment",
)  # fmt: skip


@dataclass(slots=True)
class Triage:
    """A batch's due deliveries sorted before sending: what closes unsent, what cannot render, what may go."""

    texts: dict[int, tuple[str, str]] = field(default_factory=dict)  # event id → (title, body)
    # final status → the deliveries that close with it
    closing: defaultdict[str, list[Outgoing]] = field(default_factory=lambda: defaultdict(list))
    poison: list[Outgoing] = field(default_factory=list)
    sendable: list[Outgoing] = field(default_factory=list)

    def keep(self, locked: set[int]) -> None:
        """Drop the deliveries this batch could not lock (another batch holds them, or closed them)."""
        for status, rows in self.closing.items():
            self.closing[status] = [d for d in rows if d.pk in locked]
        self.poison = [d for d in self.poison if d.pk in locked]
        self.sendable = [d for d in self.sendable if d.pk in locked]


def _is_due(status: str, next_attempt_at: datetime, now: datetime) -> bool:
    return status in Delivery.OPEN_STATUSES and next_attempt_at <= now


def _due(*, delivery_ids: Sequence[int], now: datetime) -> list[Outgoing]:
    """Return the batch's deliveries that are due, as plain values (read without a lock).

    Filtered by id alone in SQL: with a status or time condition PostgreSQL may prefer to walk the
    partial index of every open delivery, which during a backlog is far longer than the batch.
    """
    rows = Delivery.objects.filter(pk__any=list(delivery_ids)).order_by("event_id", "pk")
    return [
        Outgoing(*values)
        for status, next_attempt_at, *values in rows.values_list("status", "next_attempt_at", *_OUTGOING_FIELDS)
        if _is_due(status, next_attempt_at, now)
    ]


def _lock(*, deliveries: list[Outgoing], now: datetime) -> set[int]:
    """Lock, until the transaction ends, those of `deliveries` still due; skip any another batch holds.

    The lock reads each row's newest version, so one that a batch closed meanwhile shows as closed.
    """
    rows = Delivery.objects.filter(pk__any=[d.pk for d in deliveries]).select_for_update(skip_locked=True)
    return {
        pk
        for pk, status, next_attempt_at in rows.values_list("pk", "status", "next_attempt_at")
        if _is_due(status, next_attempt_at, now)
    }


def _superseded_events(deliveries: list[Outgoing]) -> set[int]:
    keys = {d.supersession_key for d in deliveries if d.supersession_key}
    if not keys:
        return set()
    newest = dict(
        PartnerEvent.objects.filter(supersession_key__in=keys)
        .exclude(supersession_key="")  # lets PostgreSQL use the partial index delivery_event_supersede_idx
        .values("supersession_key")
        .annotate(newest=Max("supersedes_at"))
        .values_list("supersession_key", "newest")
    )
    return {
        d.event_id
        for d in deliveries
        if d.supersession_key
        and d.supersedes_at is not None
        and newest.get(d.supersession_key) is not None
        and d.supersedes_at < newest[d.supersession_key]
    }


def _triage(candidates: list[Outgoing], *, now: datetime) -> Triage:
    """Close the expired and the superseded, set aside what cannot render; render the texts of the rest."""
    superseded = _superseded_events(candidates)
    batch = Triage()
    for delivery in candidates:
        if delivery.deliver_by is not None and delivery.deliver_by <= now:
            batch.closing[Delivery.Status.EXPIRED].append(delivery)
        elif delivery.event_id in superseded:
            batch.closing[Delivery.Status.SUPERSEDED].append(delivery)
        else:
            if delivery.event_id not in batch.texts:
                try:
                    batch.texts[delivery.event_id] = message_text(delivery.type, delivery.payload)
                except Exception as exc:  # a payload that breaks the contract must not sink the batch
                    delivery.last_error = f"The event could not be rendered: {type(exc).__name__}"[:300]
                    batch.poison.append(delivery)
                    continue
            batch.sendable.append(delivery)
    return batch


def delivery_send_batch(*, delivery_ids: Sequence[int]) -> BatchOutcome:
    """Send a batch of deliveries: lock them, check consent again, write the inbox, POST the gateway.

    One transaction: the consent check holds the grants it rests on (`FOR SHARE`), then the batch
    locks its rows (`FOR UPDATE SKIP LOCKED`), sends, and closes them. A revocation commits either
    before the check (and nothing is sent) or after the sends finished, never in between; batches
    share the consent lock, so they run side by side; rows another batch holds are skipped, so no
    delivery is sent by two. A worker that dies mid-batch rolls it all back. Each delivery is
    retried, dead-lettered, cancelled, superseded or expired on its own.
    """
    now = timezone.now()
    outcome = BatchOutcome(skipped=len(delivery_ids))
    candidates = _due(delivery_ids=delivery_ids, now=now)
    if not candidates:
        return outcome
    batch = _triage(candidates, now=now)

    with transaction.atomic():
        allowed = _consent_held(batch.sendable)
        # Then the rows themselves (after the consent locks, as revocations take them: no deadlock).
        locked = _lock(deliveries=candidates, now=now)
        outcome.taken, outcome.skipped = len(locked), len(delivery_ids) - len(locked)
        if not locked:
            return outcome
        batch.keep(locked)
        inbox, gateway = _route(batch, allowed)
        sent_at = timezone.now()
        attempts: list[dict[str, Any]] = []
        if inbox:
            _write_inbox(inbox, batch.texts, at=sent_at)
            attempts.extend(_attempt(d, sent_at, succeeded=True) for d in inbox)
            batch.closing[Delivery.Status.DELIVERED].extend(inbox)
        failed: list[tuple[Outgoing, PostResult]] = []
        if gateway:
            result = _post_gateway(gateway, batch.texts)
            answer = result.attempt_fields()  # one POST carried them all
            attempts.extend({"delivery_id": d.pk, "attempted_at": sent_at, **answer} for d in gateway)
            if result.ok:
                batch.closing[Delivery.Status.DELIVERED].extend(gateway)
            else:
                failed.extend((d, result) for d in gateway)
        for delivery in batch.poison:
            attempts.append(_attempt(delivery, sent_at, error=delivery.last_error))
        bulk_insert(DeliveryAttempt, attempts)
        settle_batch(
            closing=batch.closing,
            failed=failed,
            poison=batch.poison,
            event_ids={d.event_id for d in candidates if d.pk in locked},
            at=sent_at,
            outcome=outcome,
        )
    return outcome


def _consent_held(sendable: list[Outgoing]) -> set[tuple[int, str, int, str]]:
    """Return the (bank, environment, link, message type) tuples consent still allows, holding what it rests on.

    The consent check again, in bulk (one query per bank and key environment, usually one): a revocation
    commits before it (nothing is sent) or waits until the batch's sends are done.
    """
    pairs_by_bank: dict[tuple[int, str], set[tuple[int, str]]] = {}
    for delivery in sendable:
        pairs_by_bank.setdefault((delivery.partner_id, delivery.environment), set()).add(
            (delivery.link_id, delivery.type)
        )
    return {
        (partner_id, environment, *pair)
        for (partner_id, environment), pairs in sorted(pairs_by_bank.items())
        for pair in consent_check_many(partner_id=partner_id, pairs=pairs, environment=environment or None, hold=True)
    }


def _route(batch: Triage, allowed: set[tuple[int, str, int, str]]) -> tuple[list[Outgoing], list[Outgoing]]:
    """Return the sendable deliveries by channel (inbox, gateway); those consent no longer allows close as cancelled."""
    inbox: list[Outgoing] = []
    gateway: list[Outgoing] = []
    for delivery in batch.sendable:
        if (delivery.partner_id, delivery.environment, delivery.link_id, delivery.type) not in allowed:
            delivery.last_error = "The person's consent no longer allows this message."
            batch.closing[Delivery.Status.CANCELLED].append(delivery)
        elif delivery.channel == Delivery.Channel.INBOX:
            inbox.append(delivery)
        else:
            gateway.append(delivery)
    return inbox, gateway


def _write_inbox(deliveries: list[Outgoing], texts: dict[int, tuple[str, str]], *, at: datetime) -> None:
    # Written in the transaction that closes these deliveries, so a delivery that has its message
    # is never sent again: the one-message-per-delivery constraint stays a guarantee, not a filter.
    bulk_insert(
        InboxMessage,
        [
            {
                "user_id": d.user_id,
                "partner_id": d.partner_id,
                "delivery_id": d.pk,
                "type": d.type,
                "title": texts[d.event_id][0],
                "body": texts[d.event_id][1],
                "created_at": at,
            }
            for d in deliveries
        ],
    )


def _attempt(
    delivery: Outgoing,
    at: datetime,
    *,
    status_code: int | None = None,
    duration_ms: int = 0,
    excerpt: str = "",
    error: str = "",
    succeeded: bool = False,
) -> dict[str, Any]:
    """Return one DeliveryAttempt row (the same fields in every row, as bulk_insert wants)."""
    return {
        "delivery_id": delivery.pk,
        "attempted_at": at,
        "status_code": status_code,
        "duration_ms": duration_ms,
        "response_excerpt": excerpt,
        "error": error,
        "succeeded": succeeded,
    }


def _post_gateway(deliveries: list[Outgoing], texts: dict[int, tuple[str, str]]) -> PostResult:
    body = [
        {
            "id": d.public_id,
            "type": d.type,
            "bank": d.bank,
            "recipient": f"user_{d.user_id}",
            "title": texts[d.event_id][0],
            "body": texts[d.event_id][1],
            "payload": d.payload,
            "created_at": d.created_at.isoformat(),
        }
        for d in deliveries
    ]
    batch_id = "batch_" + hashlib.sha256(",".join(d.public_id for d in deliveries).encode()).hexdigest()[:24]
    return post_signed(
        url=settings.PORTAL_GATEWAY_URL, secrets=[settings.PORTAL_GATEWAY_SECRET], msg_id=batch_id, body=body
    )
