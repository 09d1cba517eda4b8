"""Retention: purge what is past the time it may be kept, in batches, each batch audited with its count.

What goes, after the days its setting names (`RETENTION_*`): the payloads of finished events and of
sent webhooks (the rows stay, with their states, for the figures), delivery and webhook attempts, inbox
messages, and data-subject archives (the file goes, the request stays as expired). What never goes
here: audit entries (append-only) and consent records (grants and their events, each a receipt), which
the law keeps at least three years after the person's last authorisation; the system check below
refuses a shorter `CONSENT_RECORDS_KEPT_DAYS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import models, transaction
from django.utils import timezone

from delivery.models import DeliveryAttempt, InboxMessage, PartnerEvent, WebhookAttempt, WebhookMessage

from .audit import Actor, audit_append
from .data_requests.archive import archive_path
from .data_requests.erasure import delete_files_after_commit
from .data_requests.models import DataRequest

BATCH = 5000
PURGED = {"purged": True}
# The law's floor for consent records: three years after the last authorisation.
CONSENT_RECORDS_FLOOR_DAYS = 3 * 365
FINISHED_EVENTS = [
    PartnerEvent.Status.DELIVERED,
    PartnerEvent.Status.PARTIALLY_DELIVERED,
    PartnerEvent.Status.FAILED,
    PartnerEvent.Status.BLOCKED,
    PartnerEvent.Status.CANCELLED,
]
FINISHED_WEBHOOKS = [WebhookMessage.Status.DELIVERED, WebhookMessage.Status.DEAD, WebhookMessage.Status.CANCELLED]


@dataclass(frozen=True)
class Purge:
    """One kind of thing that expires: its rows past a cutoff, and what purging a batch of them does."""

    what: str
    setting: str
    past: Callable[[datetime], models.QuerySet[Any]]
    purge: Callable[[models.QuerySet[Any]], int]


def _clear_payload(rows: models.QuerySet[Any]) -> int:
    return rows.update(payload=PURGED)


def _delete(rows: models.QuerySet[Any]) -> int:
    return rows.delete()[0]


PURGES = (
    Purge(
        "event payloads",
        "RETENTION_DELIVERY_PAYLOAD_DAYS",
        lambda cutoff: PartnerEvent.objects.filter(created_at__lt=cutoff, status__in=FINISHED_EVENTS)
        .exclude(payload=PURGED)
        .exclude(payload={"erased": True}),
        _clear_payload,
    ),
    Purge(
        "webhook payloads",
        "RETENTION_DELIVERY_PAYLOAD_DAYS",
        lambda cutoff: WebhookMessage.objects.filter(created_at__lt=cutoff, status__in=FINISHED_WEBHOOKS).exclude(
            payload=PURGED
        ),
        _clear_payload,
    ),
    Purge(
        "delivery attempts",
        "RETENTION_DELIVERY_ATTEMPT_DAYS",
        lambda cutoff: DeliveryAttempt.objects.filter(attempted_at__lt=cutoff),
        _delete,
    ),
    Purge(
        "webhook attempts",
        "RETENTION_DELIVERY_ATTEMPT_DAYS",
        lambda cutoff: WebhookAttempt.objects.filter(attempted_at__lt=cutoff),
        _delete,
    ),
    Purge(
        "inbox messages",
        "RETENTION_INBOX_DAYS",
        lambda cutoff: InboxMessage.objects.filter(created_at__lt=cutoff),
        _delete,
    ),
)


def _purge_in_batches(purge: Purge, now: datetime) -> int:
    cutoff = now - timedelta(days=getattr(settings, purge.setting))
    total = 0
    while True:
        with transaction.atomic():
            model = purge.past(cutoff).model
            ids = list(purge.past(cutoff).order_by("pk").values_list("pk", flat=True)[:BATCH])
            if not ids:
                return total
            count = purge.purge(model.objects.filter(pk__in=ids))
            total += len(ids)
            audit_append(
                action="retention.purged",
                actor=Actor.system("retention"),
                data={"what": purge.what, "count": count, "older_than": cutoff, "setting": purge.setting},
            )
        if len(ids) < BATCH:
            return total


def _expire_archives(now: datetime) -> int:
    """Delete the files of archives past their expiry; the requests stay, marked expired."""
    total = 0
    while True:
        with transaction.atomic():
            due = list(
                DataRequest.objects.select_for_update(skip_locked=True)
                .filter(state=DataRequest.State.READY, expires_at__lte=now)
                .order_by("pk")[:BATCH]
            )
            if not due:
                return total
            paths = [path for path in map(archive_path, due) if path is not None]
            DataRequest.objects.filter(pk__in=[r.pk for r in due]).update(state=DataRequest.State.EXPIRED, file_name="")
            audit_append(
                action="retention.purged",
                actor=Actor.system("retention"),
                data={"what": "data archives", "count": len(due), "requests": [r.pk for r in due]},
            )
            delete_files_after_commit(paths)
        total += len(due)
        if len(due) < BATCH:
            return total


def retention_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Purge everything past its retention and return how many of each kind went."""
    now = now or timezone.now()
    counts = {purge.what: _purge_in_batches(purge, now) for purge in PURGES}
    counts["data archives"] = _expire_archives(now)
    return counts


@checks.register()
def consent_records_floor_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """Refuse a consent-record retention shorter than the law's three years."""
    if settings.CONSENT_RECORDS_KEPT_DAYS < CONSENT_RECORDS_FLOOR_DAYS:
        return [
            checks.Error(
                f"CONSENT_RECORDS_KEPT_DAYS is {settings.CONSENT_RECORDS_KEPT_DAYS}: consent records must be kept "
                f"at least {CONSENT_RECORDS_FLOOR_DAYS} days after the last authorisation.",
                hint="Set it to 1096 or more.",
                id="compliance.E002",
            )
        ]
    return []
