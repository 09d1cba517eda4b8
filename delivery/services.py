"""Every write of delivery: event intake, sending batches, retries, dead letters, webhooks, the sweeper."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from compliance.audit import Actor, audit_append
from consent.models import ConsentGrant
from consent.rules import consent_check, consent_check_many
from partners.models import Partner, PartnerMembership, WebhookEndpoint, WebhookEvent
from partners.services import webhook_endpoint_update
from portal.errors import ApplicationError

from .backoff import is_permanent, retry_delay
from .bulk import bulk_insert
from .message_texts import message_text
from .models import (
    DEFAULT_QUEUE,
    Delivery,
    DeliveryAttempt,
    EndpointHealth,
    EventType,
    InboxMessage,
    PartnerEvent,
    WebhookAttempt,
    WebhookMessage,
)
from .outbound import PostResult, post_signed
from .payloads import MAX_BATCH, EventInvalid, ValidEvent, event_validate

logger = logging.getLogger(__name__)

# Retries due sooner than this are scheduled on the broker (countdown); later ones wait for the sweeper.
BROKER_COUNTDOWN_LIMIT = 60.0


# --- Intake ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as intake stored it, or found it stored before: what the answer to the bank shows."""

    pk: int
    idempotency_key: str
    type: str
    link_id: int
    status: str
    created_at: datetime

    @classmethod
    def of(cls, event: PartnerEvent) -> StoredEvent:
        """Return the stored event's summary."""
        return cls(event.pk, event.idempotency_key, event.type, event.link_id, event.status, event.created_at)


@dataclass
class IntakeItem:
    """What became of one posted event: accepted, replayed (the first answer again) or refused."""

    index: int
    outcome: Literal["accepted", "replayed", "refused"]
    event: StoredEvent | None = None
    code: str = ""
    message: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def http_status(self) -> int:
        """Return the status a single-event request answers with."""
        if self.outcome == "accepted":
            return 202
        if self.outcome == "replayed":
            return 200
        return {"consent_required": 403, "duplicate": 409}.get(self.code, 400)

    def error(self) -> ApplicationError:
        """Return the refusal as the error the API renders."""
        return ApplicationError(self.message, code=self.code, fields=self.fields, status=self.http_status)


def _request_hash(raw: Any) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _supersession_key(valid: ValidEvent) -> str:
    if valid.type != EventType.BALANCE_UPDATE:
        return ""
    mask = hashlib.sha256(str(valid.payload["account_mask"]).encode()).hexdigest()[:16]
    return f"{valid.link_id}:{mask}"


def _channels() -> list[str]:
    channels: list[str] = [Delivery.Channel.INBOX]
    if settings.PORTAL_GATEWAY_URL:
        channels.append(Delivery.Channel.GATEWAY)
    return channels


def inbox_remind_expiry(*, user_id: int, grant_ids: list[int]) -> list[InboxMessage]:
    """Put a "permissions ending soon" message in the person's inbox, one per bank (the email went already)."""
    grants = list(
        ConsentGrant.objects.filter(pk__in=grant_ids, user_id=user_id, status=ConsentGrant.Status.ACTIVE)
        .select_related("partner", "scope_version")
        .order_by("partner_id", "expires_at")
    )
    by_bank: dict[int, list[ConsentGrant]] = {}
    for grant in grants:
        by_bank.setdefault(grant.partner_id, []).append(grant)
    messages = []
    with transaction.atomic():
        for bank_grants in by_bank.values():
            partner = bank_grants[0].partner
            lines = [f"{g.scope_version.name}: ends {g.expires_at:%d %b %Y}" for g in bank_grants]
            messages.append(
                InboxMessage.objects.create(
                    user_id=user_id,
                    partner=partner,
                    type=InboxMessage.Type.CONSENT_REMINDER,
                    title=f"Permissions for {partner.legal_name} end soon"[:120],
                    body="\n".join([*lines, "Renew them on your banks page if you want the updates to go on."]),
                )
            )
        if messages:
            audit_append(action="inbox.consent_reminder", actor=None, data={"user": user_id, "grants": grant_ids})
    return messages


def event_intake(
    *,
    partner: Partner,
    events: Sequence[Any],
    idempotency_key: str | None,
    actor: Any,
    single: bool = False,
    ip: str | None = None,
) -> list[IntakeItem]:
    """Accept a bank's events: validate, check consent, store each with its outbox rows, enqueue after commit.

    Each event needs an idempotency key: its `event_id`, or the `Idempotency-Key` header (for a batch,
    the header plus `:<index>`). One audit entry records the whole request.
    """
    if not 1 <= len(events) <= MAX_BATCH:
        raise ApplicationError(
            f"Send from 1 to {MAX_BATCH} events in one request.", code="invalid", fields={"events": ["1 to 500."]}
        )
    items: list[IntakeItem] = []
    candidates: list[tuple[IntakeItem, ValidEvent, str, str]] = []
    seen_keys: set[str] = set()
    for index, raw in enumerate(events):
        item = IntakeItem(index=index, outcome="refused")
        items.append(item)
        try:
            valid = event_validate(raw)
        except EventInvalid as exc:
            item.code, item.message, item.fields = "invalid", "This event is not valid: correct the fields.", exc.fields
            continue
        key = valid.event_id or (
            (idempotency_key if single else f"{idempotency_key}:{index}") if idempotency_key else None
        )
        if not key:
            item.code = "idempotency_key_required"
            item.message = "Give each event an `event_id`, or send an `Idempotency-Key` header, so a retry is safe."
            continue
        if key in seen_keys:
            item.code, item.message = "duplicate", f"The event id {key!r} appears twice in this request."
            continue
        seen_keys.add(key)
        candidates.append((item, valid, key, _request_hash(raw)))

    for attempt in range(3):
        try:
            with transaction.atomic():
                event_ids, outbox = _intake_candidates(partner=partner, candidates=candidates)
                audit_append(
                    action="delivery.events_intake",
                    actor=actor,
                    target=partner,
                    data={
                        "accepted": sum(1 for item in items if item.outcome == "accepted"),
                        "replayed": sum(1 for item in items if item.outcome == "replayed"),
                        "refused": sum(1 for item in items if item.outcome == "refused"),
                        "event_ids": event_ids,
                    },
                    ip=ip,
                )
                transaction.on_commit(partial(_publish, outbox, stamped=True), robust=True)
            return items
        except IntegrityError:
            # Another request stored one of these keys first: look again, and answer as it did.
            if attempt == 2:
                raise
            for item, *_rest in candidates:
                item.outcome, item.event, item.code, item.message = "refused", None, "", ""
    return items  # pragma: no cover - the loop returns or raises


def _intake_candidates(
    *, partner: Partner, candidates: list[tuple[IntakeItem, ValidEvent, str, str]]
) -> tuple[list[int], list[tuple[int, str, int]]]:
    """Store the new events and their outbox rows; return the events' ids and the rows for the relay.

    The outbox rows are stamped as enqueued when stored: the relay sends them on commit. A process
    that dies between commit and relay leaves stamped rows, which the sweeper sends once
    DELIVERY_REENQUEUE_AFTER has passed.
    """
    existing = {
        event.idempotency_key: event
        for event in PartnerEvent.objects.filter(
            partner=partner, idempotency_key__in=[key for _item, _valid, key, _hash in candidates]
        )
    }
    # One query answers the consent question for the whole batch (consent_check, in bulk).
    allowed = consent_check_many(
        partner_id=partner.pk,
        pairs={(valid.link_id, valid.type) for _item, valid, key, _hash in candidates if key not in existing},
    )
    accepted: list[tuple[IntakeItem, dict[str, Any]]] = []
    now = timezone.now()
    for item, valid, key, request_hash in candidates:
        first = existing.get(key)
        if first is not None:
            if first.request_hash == request_hash:
                item.outcome, item.event = "replayed", StoredEvent.of(first)
            else:
                item.code = "duplicate"
                item.message = (
                    f"The event id {key!r} was already used for a different event. Use a new id for a new event."
                )
            continue
        if (valid.link_id, valid.type) not in allowed:
            item.code = "consent_required"
            item.message = (
                "The person behind this link has not allowed your bank to send this type of message "
                "(or the link does not exist). Nothing was stored."
            )
            continue
        if valid.deliver_by is not None and valid.deliver_by <= now:
            item.code, item.message = "invalid", "This event's deliver-by time has passed."
            item.fields = {"deliver_by": ["Give a time in the future, or leave it out."]}
            continue
        row: dict[str, Any] = {
            "partner_id": partner.pk,
            "link_id": valid.link_id,
            "type": valid.type,
            "payload": valid.payload,
            "idempotency_key": key,
            "request_hash": request_hash,
            "deliver_by": valid.deliver_by,
            "supersession_key": _supersession_key(valid),
            "supersedes_at": valid.as_of,
            "status": PartnerEvent.Status.ACCEPTED,
            "created_at": now,
        }
        accepted.append((item, row))
    event_ids = bulk_insert(PartnerEvent, [row for _item, row in accepted], with_ids=True)
    for (item, row), pk in zip(accepted, event_ids, strict=True):
        item.outcome = "accepted"
        item.event = StoredEvent(pk, row["idempotency_key"], row["type"], row["link_id"], row["status"], now)
    queues = [PartnerEvent.queue_for(row["type"]) for _item, row in accepted]
    channels = _channels()
    outbox: list[dict[str, Any]] = [
        {
            "event_id": event_id,
            "partner_id": partner.pk,
            "channel": channel,
            "status": Delivery.Status.PENDING,
            "queue": queue,
            "next_attempt_at": now,
            "enqueued_at": now,
            "created_at": now,
        }
        for event_id, queue in zip(event_ids, queues, strict=True)
        for channel in channels
    ]
    delivery_ids = bulk_insert(Delivery, outbox, with_ids=True)
    return event_ids, [(pk, row["queue"], partner.pk) for pk, row in zip(delivery_ids, outbox, strict=True)]


def _publish(rows: Iterable[tuple[int, str, int]], *, stamped: bool = False) -> int:
    """Enqueue deliveries in batches per queue and bank; mark them enqueued. Return how many went.

    Rows that intake `stamped` as enqueued when it stored them (saving an UPDATE on the hot path) have
    the stamp taken off again if the broker refuses them, so the sweeper picks them up at once.
    """
    from . import tasks  # tasks import services: import here to keep the cycle out of module load

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


# --- Sending --------------------------------------------------------------------------------------


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
    last_error: str = ""

    @property
    def public_id(self) -> str:
        """Return the id receivers dedupe on."""
        return Delivery.public_id_for(self.pk)


_OUTGOING_FIELDS = (
    "pk", "channel", "queue", "partner_id", "partner__slug", "attempts", "event_id", "event__type", "event__payload",
    "event__link_id", "event__link__user_id", "event__deliver_by", "event__created_at", "event__supersession_key",
    "event__supersedes_at",
)  # fmt: skip


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
    superseded = _superseded_events(candidates)
    texts: dict[int, tuple[str, str]] = {}
    closing: dict[str, list[Outgoing]] = defaultdict(list)  # final status → deliveries
    poison: list[Outgoing] = []
    sendable: list[Outgoing] = []
    for delivery in candidates:
        if delivery.deliver_by is not None and delivery.deliver_by <= now:
            closing[Delivery.Status.EXPIRED].append(delivery)
        elif delivery.event_id in superseded:
            closing[Delivery.Status.SUPERSEDED].append(delivery)
        else:
            if delivery.event_id not in texts:
                try:
                    texts[delivery.event_id] = message_text(delivery.type, delivery.payload)
                except Exception as exc:  # a payload that breaks the contract must not sink the batch
                    delivery.last_error = f"The event could not be rendered: {type(exc).__name__}"[:300]
                    poison.append(delivery)
                    continue
            sendable.append(delivery)

    with transaction.atomic():
        # The consent check again, in bulk (one query per bank, usually one), holding what it rests on:
        # a revocation commits before it (nothing is sent) or waits until the sends below are done.
        pairs_by_bank: dict[int, set[tuple[int, str]]] = {}
        for delivery in sendable:
            pairs_by_bank.setdefault(delivery.partner_id, set()).add((delivery.link_id, delivery.type))
        allowed = {
            (partner_id, *pair)
            for partner_id, pairs in sorted(pairs_by_bank.items())
            for pair in consent_check_many(partner_id=partner_id, pairs=pairs, hold=True)
        }
        # Then the rows themselves (after the consent locks, as revocations take them: no deadlock).
        locked = _lock(deliveries=candidates, now=now)
        outcome.taken, outcome.skipped = len(locked), len(delivery_ids) - len(locked)
        if not locked:
            return outcome
        for status, rows in closing.items():
            closing[status] = [d for d in rows if d.pk in locked]
        poison = [d for d in poison if d.pk in locked]
        sendable = [d for d in sendable if d.pk in locked]
        inbox: list[Outgoing] = []
        gateway: list[Outgoing] = []
        for delivery in sendable:
            if (delivery.partner_id, delivery.link_id, delivery.type) not in allowed:
                delivery.last_error = "The person's consent no longer allows this message."
                closing[Delivery.Status.CANCELLED].append(delivery)
            elif delivery.channel == Delivery.Channel.INBOX:
                inbox.append(delivery)
            else:
                gateway.append(delivery)
        sent_at = timezone.now()
        attempts: list[dict[str, Any]] = []
        if inbox:
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
                        "created_at": sent_at,
                    }
                    for d in inbox
                ],
            )
            attempts.extend(_attempt(d, sent_at, succeeded=True) for d in inbox)
            closing[Delivery.Status.DELIVERED].extend(inbox)
        failed: list[tuple[Outgoing, PostResult]] = []
        if gateway:
            result = _post_gateway(gateway, texts)
            attempts.extend(
                _attempt(
                    d,
                    sent_at,
                    status_code=result.status_code,
                    duration_ms=result.duration_ms,
                    excerpt=result.excerpt,
                    error=result.error,
                    succeeded=result.ok,
                )
                for d in gateway
            )
            if result.ok:
                closing[Delivery.Status.DELIVERED].extend(gateway)
            else:
                failed.extend((d, result) for d in gateway)
        for delivery in poison:
            attempts.append(_attempt(delivery, sent_at, error=delivery.last_error))
        bulk_insert(DeliveryAttempt, attempts)
        _close(closing, sent_at, outcome)
        dead = _fail(failed, sent_at, outcome) + poison
        if poison:
            _mark_dead(poison, sent_at)
            outcome.dead += len(poison)
        _rollup_events({d.event_id for d in candidates if d.pk in locked})
        if dead:
            _notify_dead(dead)
    return outcome


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


def _close(closing: dict[str, list[Outgoing]], at: datetime, outcome: BatchOutcome) -> None:
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


def _fail(failed: list[tuple[Outgoing, PostResult]], at: datetime, outcome: BatchOutcome) -> list[Outgoing]:
    """Schedule retries for failed sends; return those that are now dead letters."""
    from . import tasks

    dead: list[Outgoing] = []
    for delivery, result in failed:
        delivery.attempts += 1
        error = result.error or f"HTTP {result.status_code}: {result.excerpt[:200]}"
        permanent = result.status_code is not None and is_permanent(result.status_code)
        delay = None if permanent else retry_delay(delivery.attempts, retry_after=result.retry_after)
        deliver_by = delivery.deliver_by
        if delay is not None and deliver_by is not None and at + timedelta(seconds=delay) > deliver_by:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.EXPIRED, attempts=delivery.attempts, last_error=error[:300]
            )
            outcome.cancelled += 1
            continue
        if delay is None:
            delivery.last_error = error[:300]
            dead.append(delivery)
            continue
        soon = delay <= BROKER_COUNTDOWN_LIMIT
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED,
            attempts=delivery.attempts,
            next_attempt_at=at + timedelta(seconds=delay),
            enqueued_at=at if soon else None,
            last_error=error[:300],
        )
        outcome.retrying += 1
        if soon:
            task = tasks.deliver_batch if delivery.queue == DEFAULT_QUEUE else tasks.deliver_fraud_batch
            transaction.on_commit(
                partial(task.apply_async, args=([delivery.pk], delivery.partner_id), countdown=delay), robust=True
            )
    if dead:
        _mark_dead(dead, at)
        outcome.dead += len(dead)
    return dead


def _mark_dead(rows: list[Outgoing], at: datetime) -> None:
    for delivery in rows:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.DEAD,
            attempts=max(delivery.attempts, 1),
            last_error=delivery.last_error,
        )


def _rollup_events(event_ids: set[int]) -> None:
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


def _notify_dead(dead: list[Outgoing]) -> None:
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


# --- Fencing, cancellation, replay ------------------------------------------------------------------


def delivery_cancel_for_consent(*, link_id: int, partner_id: int, reason: str) -> int:
    """Cancel the queued deliveries on a link that the consent check no longer allows; return how many."""
    with transaction.atomic():
        open_rows = Delivery.objects.filter(
            event__link_id=link_id, partner_id=partner_id, status__in=Delivery.OPEN_STATUSES
        )
        types = set(open_rows.values_list("event__type", flat=True).distinct())
        refused = [t for t in types if not consent_check(partner_id=partner_id, link_id=link_id, message_type=t)]
        if not refused:
            return 0
        rows = open_rows.filter(event__type__in=refused)
        event_ids = set(rows.values_list("event_id", flat=True))
        count = rows.update(status=Delivery.Status.CANCELLED, last_error=f"Cancelled: consent {reason}.")
        _rollup_events(event_ids)
        audit_append(
            action="delivery.cancel_for_consent",
            actor=Actor.system("delivery"),
            data={"link": link_id, "partner": partner_id, "reason": reason, "cancelled": count, "types": refused},
        )
    return count


def delivery_cancel_for_partner(*, partner_id: int, reason: str) -> int:
    """Cancel every queued delivery of a bank (it was suspended or withdrawn); return how many."""
    with transaction.atomic():
        rows = Delivery.objects.filter(partner_id=partner_id, status__in=Delivery.OPEN_STATUSES)
        event_ids = set(rows.values_list("event_id", flat=True))
        count = rows.update(status=Delivery.Status.CANCELLED, last_error=f"Cancelled: the bank was {reason}.")
        if count:
            _rollup_events(event_ids)
            audit_append(
                action="delivery.cancel_for_partner",
                actor=Actor.system("delivery"),
                data={"partner": partner_id, "reason": reason, "cancelled": count},
            )
    return count


def delivery_replay(*, deliveries: Iterable[Delivery], actor: Any, ip: str | None = None) -> int:
    """Send dead letters again from a fresh retry schedule; return how many were requeued."""
    ids = [d.pk for d in deliveries if d.status == Delivery.Status.DEAD]
    if not ids:
        return 0
    with transaction.atomic():
        rows = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.DEAD)
        event_ids = set(rows.values_list("event_id", flat=True))
        count = rows.update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), enqueued_at=None, last_error=""
        )
        PartnerEvent.objects.filter(pk__in=event_ids).update(status=PartnerEvent.Status.ACCEPTED)
        audit_append(action="delivery.replay", actor=actor, data={"deliveries": ids[:500], "count": count}, ip=ip)
        publish = list(Delivery.objects.filter(pk__in=ids).values_list("pk", "queue", "partner_id"))
        transaction.on_commit(lambda: _publish(publish), robust=True)
    return count


# --- The sweeper ----------------------------------------------------------------------------------


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
    count = _publish(rows) if rows else 0
    webhooks = list(
        WebhookMessage.objects.filter(status=WebhookMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - reenqueue_after))
        .values_list("pk", flat=True)[:limit]
    )
    if webhooks:
        count += _publish_webhooks(webhooks)
    return count


# --- Partner webhooks -----------------------------------------------------------------------------


def _publish_webhooks(ids: list[int]) -> int:
    from . import tasks

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


def webhook_notify(*, partner_id: int, event_type: str, data: dict[str, Any]) -> list[WebhookMessage]:
    """Queue a signed webhook to each of the bank's active endpoints that asked for `event_type`."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(partner_id=partner_id, is_active=True)
        if event_type in (endpoint.event_types or [])
    ]
    if not endpoints:
        return []
    with transaction.atomic():
        messages = []
        for endpoint in endpoints:
            message = WebhookMessage(partner_id=partner_id, endpoint=endpoint, event_type=event_type, payload={})
            message.payload = {"type": event_type, "timestamp": timezone.now().isoformat(), "data": data}
            messages.append(message)
        WebhookMessage.objects.bulk_create(messages)
        audit_append(
            action="delivery.webhook_queued",
            actor=Actor.system("delivery"),
            data={"partner": partner_id, "type": event_type, "endpoints": [e.pk for e in endpoints]},
        )
        ids = [m.pk for m in messages]
        transaction.on_commit(lambda: _publish_webhooks(ids), robust=True)
    return messages


def webhook_send(*, message_id: int) -> str:
    """Send one webhook message (signed with every current secret); retry, give up, or disable the endpoint."""
    message = WebhookMessage.objects.select_related("endpoint", "partner").filter(pk=message_id).first()
    if message is None or message.status != WebhookMessage.Status.PENDING:
        return "skipped"
    now = timezone.now()
    if message.next_attempt_at > now + timedelta(seconds=1):
        return "not_due"
    endpoint = message.endpoint
    if not endpoint.is_active:
        WebhookMessage.objects.filter(pk=message.pk).update(status=WebhookMessage.Status.CANCELLED)
        return "cancelled"
    result = post_signed(
        url=endpoint.url, secrets=endpoint.signing_secrets(), msg_id=message.msg_id, body=message.payload
    )
    attempts = message.attempts + 1
    with transaction.atomic():
        WebhookAttempt.objects.create(
            message=message,
            attempted_at=now,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            response_excerpt=result.excerpt,
            error=result.error,
            succeeded=result.ok,
        )
        health, _ = EndpointHealth.objects.select_for_update().get_or_create(endpoint=endpoint)
        if result.ok:
            WebhookMessage.objects.filter(pk=message.pk).update(
                status=WebhookMessage.Status.DELIVERED, attempts=attempts, delivered_at=now, last_error=""
            )
            health.failing_since, health.consecutive_failures, health.last_success_at = None, 0, now
            health.save()
            return "delivered"
        error = (result.error or f"HTTP {result.status_code}: {result.excerpt[:200]}")[:300]
        permanent = result.status_code is not None and is_permanent(result.status_code)
        delay = None if permanent else retry_delay(attempts, retry_after=result.retry_after)
        if delay is None:
            WebhookMessage.objects.filter(pk=message.pk).update(
                status=WebhookMessage.Status.DEAD, attempts=attempts, last_error=error
            )
        else:
            WebhookMessage.objects.filter(pk=message.pk).update(
                attempts=attempts, next_attempt_at=now + timedelta(seconds=delay), enqueued_at=None, last_error=error
            )
        health.failing_since = health.failing_since or now
        health.consecutive_failures += 1
        health.last_failure_at = now
        health.save()
        if now - health.failing_since >= settings.DELIVERY_WEBHOOK_DISABLE_AFTER:
            _disable_endpoint(endpoint, since=health.failing_since)
            return "disabled"
    return "dead" if delay is None else "retrying"


def _disable_endpoint(endpoint: WebhookEndpoint, *, since: datetime) -> None:
    reason = f"Disabled after failing without a success since {since:%d %b %Y %H:%M} UTC."
    webhook_endpoint_update(endpoint=endpoint, actor=Actor.system("delivery"), is_active=False)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_reason=reason[:200])
    WebhookMessage.objects.filter(endpoint=endpoint, status=WebhookMessage.Status.PENDING).update(
        status=WebhookMessage.Status.CANCELLED
    )
    managers = list(
        PartnerMembership.objects.filter(
            partner_id=endpoint.partner_id, role=PartnerMembership.Role.MANAGER
        ).values_list("user__email", flat=True)
    )
    if managers:
        body = (
            f"Your webhook endpoint {endpoint.url} kept failing, so the platform switched it off. "
            f"{reason} Fix it, then switch it on again on your bank's webhooks page and replay what you missed."
        )
        transaction.on_commit(
            lambda: send_mail("Your webhook endpoint was switched off", body, None, managers, fail_silently=True)
        )


def webhook_replay(*, endpoint: WebhookEndpoint, since: datetime, actor: Any, ip: str | None = None) -> int:
    """Send again every webhook message to `endpoint` created since `since` (at most 1000); return how many."""
    if since > timezone.now():
        raise ApplicationError("Give a time in the past.", code="invalid", fields={"since": ["Must be in the past."]})
    if not endpoint.is_active:
        raise ApplicationError(
            "This endpoint is switched off. Switch it on first, then replay.", code="endpoint_disabled", status=409
        )
    with transaction.atomic():
        ids = list(
            WebhookMessage.objects.filter(endpoint=endpoint, created_at__gte=since)
            .order_by("created_at")
            .values_list("pk", flat=True)[:1000]
        )
        WebhookMessage.objects.filter(pk__in=ids).update(
            status=WebhookMessage.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), enqueued_at=None
        )
        audit_append(
            action="delivery.webhook_replay",
            actor=actor,
            target=endpoint,
            data={"since": since.isoformat(), "count": len(ids)},
            ip=ip,
        )
        transaction.on_commit(lambda: _publish_webhooks(ids), robust=True)
    return len(ids)


# --- The inbox ------------------------------------------------------------------------------------


def inbox_mark_read(*, user: Any, partner_id: int | None = None) -> int:
    """Mark the person's unread messages (of one bank, or all) as read; return how many."""
    rows = InboxMessage.objects.unread().filter(user=user)
    if partner_id is not None:
        rows = rows.filter(partner_id=partner_id)
    # Reading one's own inbox is not an audited event: it changes nothing anyone else sees.
    return rows.update(read_at=timezone.now())
