"""Bulk inserts (COPY on PostgreSQL): the rows read back as the ORM would have written them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.bulk import bulk_insert
from delivery.models import Delivery, DeliveryAttempt, PartnerEvent
from delivery.tests.factories import Consenting, consenting
from partners.models import Partner

pytestmark = pytest.mark.django_db


def _events(c: Consenting, keys: list[str]) -> list[dict[str, Any]]:
    now = timezone.now()
    return [
        {
            "partner_id": c.bank.pk,
            "link_id": c.link.pk,
            "type": "receipt",
            "payload": {"merchant": "Café ☕", "amount": "1.00", "items": [{"name": "x", "quantity": 2}]},
            "idempotency_key": key,
            "request_hash": "0" * 64,
            "deliver_by": now + timedelta(hours=1),
            "created_at": now,
        }
        for key in keys
    ]


def test_rows_get_their_ids_defaults_and_read_back_unchanged() -> None:
    c = consenting()
    rows = _events(c, ["a", "b"])
    ids = bulk_insert(PartnerEvent, rows, with_ids=True)
    assert len(ids) == 2
    stored = PartnerEvent.objects.get(pk=ids[1])
    assert stored.idempotency_key == "b"
    assert stored.payload == rows[1]["payload"]
    assert stored.deliver_by == rows[1]["deliver_by"]
    assert stored.status == PartnerEvent.Status.ACCEPTED  # the model default
    [delivery] = bulk_insert(
        Delivery, [{"event_id": ids[0], "partner_id": c.bank.pk, "channel": "inbox"}], with_ids=True
    )
    assert bulk_insert(DeliveryAttempt, [{"delivery_id": delivery, "status_code": 200, "succeeded": True}]) == []
    assert Delivery.objects.get(pk=delivery).attempt_log.get().status_code == 200
    later = PartnerEvent.objects.create(partner=c.bank, link=c.link, type="receipt", payload={}, idempotency_key="c")
    assert later.pk > ids[1]  # the sequence moved on


def test_a_broken_constraint_is_an_integrity_error_and_writes_nothing() -> None:
    c = consenting()
    bulk_insert(PartnerEvent, _events(c, ["a"]), with_ids=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(PartnerEvent, _events(c, ["b", "a"]), with_ids=True)
    assert list(PartnerEvent.objects.values_list("idempotency_key", flat=True)) == ["a"]
    assert bulk_insert(PartnerEvent, []) == []


def test_a_model_with_auto_now_fields_must_give_them() -> None:
    with pytest.raises(ValueError, match="auto_now"):
        bulk_insert(Partner, [{"legal_name": "X"}])
