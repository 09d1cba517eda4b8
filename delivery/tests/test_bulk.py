"""Bulk inserts (COPY on PostgreSQL): the rows read back as the ORM would have written them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.bulk import bulk_insert
from delivery.models import Delivery, DeliveryAttempt, PartnerEvent
from delivery.tests.factories import Consenting, consenting

pytestmark = pytest.mark.django_db


def _events(c: Consenting, keys: list[str]) -> list[PartnerEvent]:
    now = timezone.now()
    return [
        PartnerEvent(
            partner=c.bank,
            link=c.link,
            type="receipt",
            payload={"merchant": "Café ☕", "amount": "1.00", "items": [{"name": "x", "quantity": 2}]},
            idempotency_key=key,
            request_hash="0" * 64,
            deliver_by=now + timedelta(hours=1),
            created_at=now,
        )
        for key in keys
    ]


def test_rows_get_their_ids_and_read_back_unchanged() -> None:
    c = consenting()
    events = bulk_insert(_events(c, ["a", "b"]), with_ids=True)
    assert all(event.pk for event in events)
    stored = PartnerEvent.objects.get(pk=events[1].pk)
    assert stored.idempotency_key == "b"
    assert stored.payload == events[1].payload
    assert stored.deliver_by == events[1].deliver_by
    assert stored.status == PartnerEvent.Status.ACCEPTED
    deliveries = bulk_insert(
        [Delivery(event=event, partner=c.bank, channel="inbox") for event in events], with_ids=True
    )
    bulk_insert([DeliveryAttempt(delivery=deliveries[0], status_code=200, succeeded=True)])
    assert Delivery.objects.get(pk=deliveries[0].pk).attempt_log.get().status_code == 200
    assert PartnerEvent.objects.create(**{**_kwargs(events[0]), "idempotency_key": "c"}).pk > events[1].pk


def _kwargs(event: PartnerEvent) -> dict[str, object]:
    return {"partner": event.partner, "link": event.link, "type": event.type, "payload": {}, "request_hash": "1"}


def test_a_broken_constraint_is_an_integrity_error_and_writes_nothing() -> None:
    c = consenting()
    bulk_insert(_events(c, ["a"]), with_ids=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(_events(c, ["b", "a"]), with_ids=True)
    assert list(PartnerEvent.objects.values_list("idempotency_key", flat=True)) == ["a"]
    assert bulk_insert([]) == []
