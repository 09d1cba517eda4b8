"""Event intake: validate a bank's events, check consent, store each with its outbox rows, relay on commit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.audit import audit_append
from consent.rules import consent_check_many
from partners.models import Partner, PartnerApiKey
from portal.errors import ApplicationError

from ..bulk import bulk_insert
from ..chat.replies import REFUSAL_STATUSES, chat_replies_refused, chat_replies_store
from ..models import Delivery, EventType, PartnerEvent
from ..payloads import MAX_BATCH, EventInvalid, ValidEvent, event_validate
from .outbox import publish_deliveries


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
        return {"consent_required": 403, "duplicate": 409, **REFUSAL_STATUSES}.get(self.code, 400)

    def error(self) -> ApplicationError:
        """Return the refusal as the error the API renders."""
        return ApplicationError(self.message, code=self.code, fields=self.fields, status=self.http_status)


# An event that passed validation: its item, the valid event, its idempotency key and its request's hash.
Candidate = tuple[IntakeItem, ValidEvent, str, str]


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
    # The one check of a request's size: the API view checks only the body's shape.
    if not 1 <= len(events) <= MAX_BATCH:
        raise ApplicationError(
            f"Send from 1 to {MAX_BATCH} events in one request.",
            code="invalid",
            fields={"events": [f"Give a list of 1 to {MAX_BATCH} events."]},
        )
    items, candidates = _screen(events, idempotency_key=idempotency_key, single=single)
    # A key acts in its own world (`consent.rules`): each event keeps its key's environment for its sends.
    environment = actor.environment if isinstance(actor, PartnerApiKey) else ""
    for attempt in range(3):
        try:
            with transaction.atomic():
                event_ids, outbox = _intake_candidates(partner=partner, candidates=candidates, environment=environment)
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
                transaction.on_commit(partial(publish_deliveries, outbox, stamped=True), robust=True)
            return items
        except IntegrityError:
            # Another request stored one of these keys first: look again, and answer as it did.
            if attempt == 2:
                raise
            for item, *_rest in candidates:
                item.outcome, item.event, item.code, item.message = "refused", None, "", ""
    return items  # pragma: no cover - the loop returns or raises


def _screen(
    events: Sequence[Any], *, idempotency_key: str | None, single: bool
) -> tuple[list[IntakeItem], list[Candidate]]:
    """Validate each event and find its idempotency key; return an item for each, and those to store."""
    items: list[IntakeItem] = []
    candidates: list[Candidate] = []
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
    return items, candidates


def _intake_candidates(
    *, partner: Partner, candidates: list[Candidate], environment: str
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
        environment=environment or None,
    )
    # A bot's reply must answer a message of the same person to this bank (delivery.chat.replies).
    replies = chat_replies_refused(
        partner_id=partner.pk, replies=[(key, valid) for _item, valid, key, _hash in candidates if key not in existing]
    )
    now = timezone.now()
    accepted = _accept(
        partner_id=partner.pk, candidates=candidates, existing=existing, allowed=allowed, now=now, refused=replies
    )
    for _item, row in accepted:
        row["environment"] = environment
    event_ids = bulk_insert(PartnerEvent, [row for _item, row in accepted], with_ids=True)
    for (item, row), pk in zip(accepted, event_ids, strict=True):
        item.outcome = "accepted"
        item.event = StoredEvent(pk, row["idempotency_key"], row["type"], row["link_id"], row["status"], now)
    chat_replies_store(rows=[(pk, row) for (_item, row), pk in zip(accepted, event_ids, strict=True)])
    # A chat reply is shown as it commits: it has no outbox rows.
    sent = [
        (pk, row) for (_item, row), pk in zip(accepted, event_ids, strict=True) if row["type"] != EventType.CHAT_REPLY
    ]
    queues = [PartnerEvent.queue_for(row["type"]) for _pk, row in sent]
    outbox = _outbox_rows(partner_id=partner.pk, event_ids=[pk for pk, _row in sent], queues=queues, now=now)
    delivery_ids = bulk_insert(Delivery, outbox, with_ids=True)
    return event_ids, [(pk, row["queue"], partner.pk) for pk, row in zip(delivery_ids, outbox, strict=True)]


def _accept(
    *,
    partner_id: int,
    candidates: list[Candidate],
    existing: dict[str, PartnerEvent],
    allowed: set[tuple[int, str]],
    now: datetime,
    refused: dict[str, tuple[str, str]],
) -> list[tuple[IntakeItem, dict[str, Any]]]:
    """Answer replays and refusals on their items; return the new events' rows, each with its item."""
    accepted: list[tuple[IntakeItem, dict[str, Any]]] = []
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
        if key in refused:
            item.code, item.message = refused[key]
            continue
        row: dict[str, Any] = {
            "partner_id": partner_id,
            "link_id": valid.link_id,
            "type": valid.type,
            "payload": valid.payload,
            "idempotency_key": key,
            "request_hash": request_hash,
            "deliver_by": valid.deliver_by,
            "supersession_key": _supersession_key(valid),
            "supersedes_at": valid.as_of,
            "status": PartnerEvent.Status.DELIVERED
            if valid.type == EventType.CHAT_REPLY
            else PartnerEvent.Status.ACCEPTED,
            "created_at": now,
        }
        accepted.append((item, row))
    return accepted


def _outbox_rows(*, partner_id: int, event_ids: list[int], queues: list[str], now: datetime) -> list[dict[str, Any]]:
    """Return one pending delivery row per event and channel, stamped as enqueued (the relay sends on commit)."""
    channels = _channels()
    return [
        {
            "event_id": event_id,
            "partner_id": partner_id,
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
