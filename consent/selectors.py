"""Reads of consent: the consent check, and what a person or a bank may see of links and grants."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils import timezone

from partners.models import Partner

from .models import ConsentGrant
from .purposes import MESSAGE_TYPE_BITS, purpose_of


def consent_check(*, partner_id: int, link_id: int, message_type: str, at: datetime | None = None) -> bool:
    """Return True when bank `partner_id` may send `message_type` to the person behind `link_id` at `at`.

    The purpose comes from the message type (`consent.purposes`). One query, served by the partial
    index `consent_grant_check_idx` on (link, purpose, expires_at) WHERE status = 'active':
    an active, unexpired grant on this link, of this bank, for the purpose, with the message type's
    bit set, while the bank is sandbox or live. A revocation or expiry fails it from its commit on.
    """
    purpose = purpose_of(message_type)
    bit = MESSAGE_TYPE_BITS.get(message_type)
    if purpose is None or bit is None:
        return False
    return (
        ConsentGrant.objects.filter(
            link_id=link_id,
            purpose=purpose,
            status=ConsentGrant.Status.ACTIVE,
            expires_at__gt=at or timezone.now(),
            partner_id=partner_id,
            partner__status__in=(Partner.Status.SANDBOX, Partner.Status.LIVE),
        )
        .alias(allowed_bit=F("message_types_mask").bitand(bit))
        .filter(allowed_bit__gt=0)
        .exists()
    )


def active_grant_for(
    *, partner_id: int, link_id: int, message_type: str, at: datetime | None = None
) -> ConsentGrant | None:
    """Return the grant that lets bank `partner_id` send `message_type` on `link_id` at `at`, or None."""
    purpose = purpose_of(message_type)
    bit = MESSAGE_TYPE_BITS.get(message_type)
    if purpose is None or bit is None:
        return None
    return (
        ConsentGrant.objects.filter(
            link_id=link_id,
            purpose=purpose,
            status=ConsentGrant.Status.ACTIVE,
            expires_at__gt=at or timezone.now(),
            partner_id=partner_id,
            partner__status__in=(Partner.Status.SANDBOX, Partner.Status.LIVE),
        )
        .alias(allowed_bit=F("message_types_mask").bitand(bit))
        .filter(allowed_bit__gt=0)
        .select_related("scope", "scope_version")
        .order_by("-granted_at", "-pk")
        .first()
    )
