"""A bank's attestation that it deleted the data of an ended grant."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from partners.models import Partner
from portal.errors import Conflict, NotFound

from ..models import ConsentEvent, ConsentGrant
from .locks import lock_link, locked_grant
from .records import audit_grant, record_event

RevokedBy = ConsentGrant.RevokedBy


def consent_attest_deletion(
    *, grant: ConsentGrant, partner: Partner, actor: Any, note: str = "", ip: str | None = None
) -> ConsentGrant:
    """Record the bank's statement that it deleted the data of an ended grant; repeating it changes nothing."""
    with transaction.atomic():
        grant = locked_grant(grant.pk)
        if grant.partner_id != partner.pk:
            raise NotFound("Your bank has no consent with this id.")
        if grant.deletion_attested_at is not None:
            return grant
        if grant.status == ConsentGrant.Status.ACTIVE:
            raise Conflict(
                "This consent is still active: keep the data while it is, and attest deletion after it is "
                "revoked or expires.",
                code="consent_active",
            )
        link = lock_link(grant.link_id)
        grant.deletion_attested_at = timezone.now()
        grant.save(update_fields=["deletion_attested_at"])
        record_event(
            kind=ConsentEvent.Kind.DELETION_ATTESTED,
            link=link,
            grant=grant,
            actor=RevokedBy.BANK,
            reason=note.strip()[:300],
            at=grant.deletion_attested_at,
        )
        audit_grant(
            "consent.deletion_attest",
            actor=actor,
            grant=grant,
            ip=ip,
            note=note.strip()[:300],
            late=bool(grant.deletion_due_at and grant.deletion_attested_at > grant.deletion_due_at),
        )
    return grant
