"""The database keeps consent honest: one active grant per thing, valid masks and states, immutable events."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.models import ConsentEvent, ConsentGrant
from consent.purposes import (
    MESSAGE_TYPE_BITS,
    MESSAGE_TYPE_PURPOSE,
    mask_of,
    message_types_for,
    message_types_in,
    purpose_of,
)
from consent.tests.factories import ConsentGrantFactory, event_for
from partners.models import MessageType, Purpose

pytestmark = pytest.mark.django_db


def test_every_message_type_has_one_purpose_and_its_own_bit() -> None:
    assert set(MESSAGE_TYPE_PURPOSE) == set(MessageType.values)
    assert set(MESSAGE_TYPE_PURPOSE.values()) == set(Purpose.values)
    bits = list(MESSAGE_TYPE_BITS.values())
    assert len(set(bits)) == len(bits)
    assert all(bit & (bit - 1) == 0 for bit in bits)  # one bit each
    assert purpose_of("receipt") == purpose_of("shipping_update") == "receipts_shipping"
    assert purpose_of("advertising") is None
    assert message_types_for("receipts_shipping") == ["receipt", "shipping_update"]
    assert message_types_in(mask_of(["shipping_update", "balance_update"])) == ["balance_update", "shipping_update"]


def test_two_active_grants_for_the_same_link_scope_and_purpose_are_impossible() -> None:
    grant = ConsentGrantFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentGrantFactory(link=grant.link, scope=grant.scope)


def test_a_new_grant_is_possible_once_the_old_one_ended() -> None:
    grant = ConsentGrantFactory()
    ConsentGrant.objects.filter(pk=grant.pk).update(
        status=ConsentGrant.Status.REVOKED, revoked_at=timezone.now(), revoked_by="user"
    )
    again = ConsentGrantFactory(link=grant.link, scope=grant.scope)
    assert again.status == ConsentGrant.Status.ACTIVE


@pytest.mark.parametrize("mask", [0, 1 << 10])
def test_a_grant_needs_a_valid_message_type_mask(mask: int) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentGrantFactory(message_types_mask=mask)


def test_a_revoked_grant_must_say_when_and_by_whom() -> None:
    grant = ConsentGrantFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentGrant.objects.filter(pk=grant.pk).update(status=ConsentGrant.Status.REVOKED)


def test_a_grant_cannot_end_before_it_starts() -> None:
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentGrantFactory(granted_at=now, expires_at=now)


def test_a_consent_event_is_never_changed() -> None:
    event = event_for(ConsentGrantFactory())
    event.reason = "rewritten"
    with pytest.raises(ValueError, match="immutable"):
        event.save()
    assert ConsentEvent.objects.get(pk=event.pk).reason == ""


def test_grant_predicates() -> None:
    grant = ConsentGrantFactory(purpose="account_updates")
    assert not grant.is_expired()
    assert grant.is_expired(grant.expires_at)


def test_the_database_refuses_to_change_a_consent_event() -> None:
    event = event_for(ConsentGrantFactory())
    with pytest.raises(Exception, match="immutable"), transaction.atomic():
        ConsentEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    assert ConsentEvent.objects.get(pk=event.pk).reason == ""
