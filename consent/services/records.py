"""Consent events with their sealed receipts, the grant audit entry, and the after-commit signal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from compliance.audit import audit_append

from .. import signals
from ..models import AccountLink, ConsentEvent, ConsentGrant
from ..receipts import receipt_body, seal


def record_event(
    *,
    kind: str,
    link: AccountLink,
    grant: ConsentGrant | None,
    actor: str,
    reason: str = "",
    at: datetime | None = None,
) -> ConsentEvent:
    """Append one consent event with its sealed receipt (inside the caller's transaction)."""
    event = ConsentEvent(
        kind=kind, user_id=link.user_id, partner_id=link.partner_id, link=link, grant=grant, actor=actor, reason=reason
    )
    event.created_at = at or timezone.now()
    body = receipt_body(
        public_id=str(event.public_id),
        kind=kind,
        created_at=event.created_at,
        actor=actor,
        reason=reason,
        link=link,
        grant=grant,
    )
    event.receipt_json, event.receipt_sha256 = seal(body)
    event.save(force_insert=True)
    return event


def announce_change(*, event: str, link: AccountLink, grant_ids: Sequence[int]) -> None:
    """Send `consent_changed` for these grants inside the caller's transaction.

    Receivers only write rows (cancelled deliveries, the bank's webhook messages), so the change and
    its consequences commit together or not at all; what leaves the process is published from those
    rows after commit, and the outbox sweeper re-publishes them if the process died in between.
    """
    if grant_ids:
        signals.consent_changed.send(
            sender=ConsentGrant, grant_ids=list(grant_ids), link_id=link.pk, partner_id=link.partner_id, event=event
        )


def audit_grant(action: str, *, actor: Any, grant: ConsentGrant, ip: str | None, **extra: Any) -> None:
    """Append the audit entry for a change to `grant`, with what it now says and any `extra` facts."""
    audit_append(
        action=action,
        actor=actor,
        target=grant,
        data={
            "user": grant.user_id,
            "link": grant.link_id,
            "partner": grant.partner_id,
            "scope": grant.scope.code,
            "scope_version": grant.scope_version.number,
            "purpose": grant.purpose,
            "message_types": grant.message_types,
            "status": grant.status,
            "expires_at": grant.expires_at,
            **extra,
        },
        ip=ip,
    )
