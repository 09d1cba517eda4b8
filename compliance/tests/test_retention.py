"""Retention: exactly what is past its time is purged, in audited batches; the trail and consent records stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from compliance import retention
from compliance.audit import audit_seal, audit_verify
from compliance.data_requests.archive import archive_build, archive_path
from compliance.data_requests.models import DataRequest
from compliance.data_requests.requests import data_request_mine
from compliance.models import AuditEntry
from compliance.retention import PURGED, retention_purge
from compliance.tests.data_subjects import two_subjects
from consent.models import ConsentEvent, ConsentGrant
from consent.tests.factories import event_for
from delivery.models import DeliveryAttempt, InboxMessage, PartnerEvent, WebhookAttempt, WebhookMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings: Any, tmp_path: Path) -> None:
    settings.COMPLIANCE_ARCHIVE_DIR = tmp_path / "archives"
    settings.RETENTION_DELIVERY_PAYLOAD_DAYS = 90
    settings.RETENTION_DELIVERY_ATTEMPT_DAYS = 30
    settings.RETENTION_INBOX_DAYS = 365
    settings.RETENTION_EXPORT_DAYS = 7


def _age(model: Any, field: str, pks: list[int], when: datetime) -> None:
    model.objects.filter(pk__in=pks).update(**{field: when})


def _purged_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in AuditEntry.objects.filter(action="retention.purged"):
        counts[entry.data["what"]] = counts.get(entry.data["what"], 0) + entry.data["count"]
    return counts


def test_retention_purges_exactly_what_is_past_and_audits_the_counts(
    monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches, each audited
    world = two_subjects()
    now = timezone.now()
    events = list(PartnerEvent.objects.order_by("pk").values_list("pk", flat=True))  # 6: 3 each
    attempts = list(DeliveryAttempt.objects.order_by("pk").values_list("pk", flat=True))
    inbox = list(InboxMessage.objects.order_by("pk").values_list("pk", flat=True))
    # Past: 5 of 6 payloads (one of them still open, so kept), 4 attempts, 3 inbox messages; the rest are just inside.
    _age(PartnerEvent, "created_at", events[:5], now - timedelta(days=91))
    PartnerEvent.objects.filter(pk=events[4]).update(status=PartnerEvent.Status.ACCEPTED)
    _age(PartnerEvent, "created_at", events[5:], now - timedelta(days=89))
    _age(DeliveryAttempt, "attempted_at", attempts[:4], now - timedelta(days=31))
    _age(InboxMessage, "created_at", inbox[:3], now - timedelta(days=366))
    _age(InboxMessage, "created_at", inbox[3:], now - timedelta(days=364))
    old_archive = archive_build(request_id=data_request_mine(person=world.alice.user).pk)
    new_archive = archive_build(request_id=data_request_mine(person=world.bob.user).pk)
    assert old_archive is not None
    assert new_archive is not None
    DataRequest.objects.filter(pk=old_archive.pk).update(expires_at=now - timedelta(minutes=1))
    old_file, new_file = archive_path(old_archive), archive_path(new_archive)
    assert old_file is not None
    assert new_file is not None
    consent_events, grants = ConsentEvent.objects.count(), ConsentGrant.objects.count()

    with django_capture_on_commit_callbacks(execute=True):  # the files go once the batch committed
        counts = retention_purge(now=now)

    expected = {
        "event payloads": 4,
        "webhook payloads": 0,
        "delivery attempts": 4,
        "webhook attempts": 0,
        "inbox messages": 3,
        "data archives": 1,
    }
    assert counts == expected
    assert _purged_counts() == {what: count for what, count in expected.items() if count}
    assert AuditEntry.objects.filter(action="retention.purged", data_json__contains="event payloads").count() == 2
    assert set(PartnerEvent.objects.filter(payload=PURGED).values_list("pk", flat=True)) == set(events[:4])
    assert PartnerEvent.objects.get(pk=events[4]).payload["merchant"]  # still open: kept
    assert set(DeliveryAttempt.objects.values_list("pk", flat=True)) == set(attempts[4:])
    assert set(InboxMessage.objects.values_list("pk", flat=True)) == set(inbox[3:])
    assert DataRequest.objects.get(pk=old_archive.pk).state == DataRequest.State.EXPIRED
    assert not old_file.exists()
    assert new_file.exists()
    # The consent records stay, whatever their age here.
    assert (ConsentEvent.objects.count(), ConsentGrant.objects.count()) == (consent_events, grants)
    # A second run finds nothing more.
    assert set(retention_purge(now=now).values()) == {0}


def test_audit_entries_and_consent_records_are_never_purged_before_three_years(settings: Any) -> None:
    # Every retention at its shortest, and everything written four years ago but the last authorisation,
    # which is two years old: nothing of the trail or of consent may go.
    for name in ("DELIVERY_PAYLOAD", "DELIVERY_ATTEMPT", "INBOX", "EXPORT"):
        setattr(settings, f"RETENTION_{name}_DAYS", 1)
    world = two_subjects()
    now = timezone.now()
    ConsentGrant.objects.update(granted_at=now - timedelta(days=4 * 365), expires_at=now - timedelta(days=2 * 365))
    ConsentGrant.objects.filter(user=world.alice.user).update(
        granted_at=now - timedelta(days=2 * 365), expires_at=now - timedelta(days=365)
    )
    ConsentEvent.objects.all().delete()  # written again, four years old (events may be deleted, not changed)
    entries, events = AuditEntry.objects.count(), 0
    for grant in ConsentGrant.objects.all():
        event = event_for(grant)
        ConsentEvent.objects.filter(pk=event.pk).delete()
        event.pk, event.created_at = None, now - timedelta(days=4 * 365)
        event._state.adding = True
        event.save()
        events += 1
    audit_seal()
    retention_purge(now=now + timedelta(days=3 * 365 - 1))
    assert ConsentEvent.objects.count() == events
    assert ConsentGrant.objects.count() == 2
    assert AuditEntry.objects.count() > entries  # only added to (the purges' own entries)
    audit_seal()
    assert audit_verify().ok


def test_webhook_payloads_and_attempts_expire_too() -> None:
    world = two_subjects()
    now = timezone.now()
    message = WebhookMessage.objects.create(
        partner=world.bank, endpoint=world.endpoint, event_type="consent.revoked", payload={"data": {"link": 1}},
        status=WebhookMessage.Status.DELIVERED,
    )  # fmt: skip
    attempt = WebhookAttempt.objects.create(message=message, status_code=200, succeeded=True)
    WebhookMessage.objects.filter(pk=message.pk).update(created_at=now - timedelta(days=91))
    WebhookAttempt.objects.filter(pk=attempt.pk).update(attempted_at=now - timedelta(days=31))
    counts = retention_purge(now=now)
    assert (counts["webhook payloads"], counts["webhook attempts"]) == (1, 1)
    assert WebhookMessage.objects.get(pk=message.pk).payload == PURGED


def test_a_consent_record_retention_under_three_years_is_refused(settings: Any) -> None:
    settings.CONSENT_RECORDS_KEPT_DAYS = 365
    assert [message.id for message in retention.consent_records_floor_check()] == ["compliance.E002"]
    settings.CONSENT_RECORDS_KEPT_DAYS = 3 * 365 + 1
    assert retention.consent_records_floor_check() == []


def test_the_purge_runs_on_beat_daily(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["compliance-retention-purge"]
    assert entry["task"] == "compliance.tasks.retention_purge"
    from portal.celery import app

    assert "compliance.tasks.retention_purge" in app.tasks
