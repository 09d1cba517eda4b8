"""Writes to a person's portal inbox that are not deliveries: consent reminders, and marking messages read."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_append
from consent.models import ConsentGrant
from partners.models import Partner
from portal.moments import day

from ..models import InboxMessage


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
            lines = [f"{g.scope_version.name}: ends {day(g.expires_at)}" for g in bank_grants]
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


def inbox_tell_scope_change(*, user_id: int, partner_id: int, scope_name: str, changes: list[str]) -> InboxMessage:
    """Put "<bank> changed <scope>: what changes for you" in the person's inbox, one line per permission."""
    with transaction.atomic():
        partner = Partner.objects.get(pk=partner_id)
        message = InboxMessage.objects.create(
            user_id=user_id,
            partner=partner,
            type=InboxMessage.Type.CONSENT_CHANGE,
            title=f"{partner.legal_name} changed {scope_name}: what changes for you"[:120],
            body="\n".join([*changes, "Your banks page shows each permission as it stands now."]),
        )
        audit_append(
            action="inbox.consent_change",
            actor=None,
            target=message,
            data={"user": user_id, "partner": partner_id, "scope": scope_name, "changes": len(changes)},
        )
    return message


def inbox_mark_read(*, user: Any, partner_id: int | None = None) -> int:
    """Mark the person's unread messages (of one bank, or all) as read; return how many."""
    rows = InboxMessage.objects.unread().filter(user=user)
    if partner_id is not None:
        rows = rows.filter(partner_id=partner_id)
    # Reading one's own inbox is not an audited event: it changes nothing anyone else sees.
    return rows.update(read_at=timezone.now())
