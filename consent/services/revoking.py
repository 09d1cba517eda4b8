"""Revoking grants: one, all on a link, all a person has, or those a bank's change ends."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from compliance.audit import audit_append
from portal.errors import ApplicationError, Conflict
from portal.models import User

from .. import signals
from ..models import AccountLink, ConsentEvent, ConsentGrant
from ..policy import require_may_act
from ..refusals import refusals_audited
from .locks import lock_grant_to_change, lock_link
from .records import announce_change, audit_grant, record_event

RevokedBy = ConsentGrant.RevokedBy


def deletion_deadline() -> timedelta:
    """Return how long a bank has to attest deletion after a grant ends (default 30 days)."""
    return timedelta(days=getattr(settings, "CONSENT_DELETION_DEADLINE_DAYS", 30))


def end_grant(
    grant: ConsentGrant,
    *,
    link: AccountLink,
    status: str,
    by: str,
    reason: str,
    actor: Any,
    ip: str | None,
    at: datetime,
) -> None:
    """End one locked, active grant as revoked or expired: event, receipt and audit entry."""
    grant.status = status
    grant.deletion_due_at = at + deletion_deadline()
    if status == ConsentGrant.Status.REVOKED:
        grant.revoked_at = at
        grant.revoked_by = by
        grant.revoke_reason = reason[:300]
    grant.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason", "deletion_due_at"])
    kind = ConsentEvent.Kind.REVOKED if status == ConsentGrant.Status.REVOKED else ConsentEvent.Kind.EXPIRED
    record_event(kind=kind, link=link, grant=grant, actor=by, reason=reason[:300], at=at)
    action = "consent.revoke" if status == ConsentGrant.Status.REVOKED else "consent.expire"
    audit_grant(action, actor=actor, grant=grant, ip=ip, by=by, reason=reason, deletion_due_at=grant.deletion_due_at)


def revoke_active_on_link(
    *,
    link: AccountLink,
    by: str,
    reason: str,
    actor: Any,
    ip: str | None,
    at: datetime,
    filters: dict[str, Any] | None = None,
) -> list[ConsentGrant]:
    """Revoke the link's active grants (those matching `filters`), the link already locked; return them."""
    grants = list(
        ConsentGrant.objects.select_for_update(of=("self",))
        .select_related("scope", "scope_version", "terms")
        .filter(link=link, status=ConsentGrant.Status.ACTIVE, **(filters or {}))
        .order_by("pk")
    )
    for grant in grants:
        end_grant(grant, link=link, status=ConsentGrant.Status.REVOKED, by=by, reason=reason, actor=actor, ip=ip, at=at)
    return grants


def consent_revoke(
    *, grant: ConsentGrant, actor: Any, by: str = RevokedBy.USER, reason: str = "", ip: str | None = None
) -> ConsentGrant:
    """Revoke one grant: the consent check fails from this commit on; the bank owes a deletion attestation."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        link, grant = lock_grant_to_change(grant, actor=actor, by=by, what="withdraw this permission")
        if grant.status != ConsentGrant.Status.ACTIVE:
            raise Conflict(
                "This permission was already withdrawn or has expired. Nothing was changed.", code="grant_not_active"
            )
        end_grant(
            grant,
            link=link,
            status=ConsentGrant.Status.REVOKED,
            by=by,
            reason=reason or _default_reason(by),
            actor=actor,
            ip=ip,
            at=timezone.now(),
        )
        announce_change(event=signals.REVOKED, link=link, grant_ids=[grant.pk])
    return grant


def _default_reason(by: str) -> str:
    reasons: dict[str, str] = {
        RevokedBy.USER: "You withdrew this permission.",
        RevokedBy.BANK: "The bank withdrew this permission.",
        RevokedBy.PLATFORM: "The platform withdrew this permission.",
        RevokedBy.COMPLIANCE: "Compliance staff withdrew this permission.",
        RevokedBy.SYSTEM: "The platform withdrew this permission automatically.",
    }
    return reasons.get(by, "")


def consent_revoke_all_at_bank(
    *, user: User, partner_id: int, actor: Any, by: str = RevokedBy.USER, ip: str | None = None
) -> list[ConsentGrant]:
    """Revoke every active grant `user` gave one bank, on every account linked there; return what was revoked."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        now = timezone.now()
        revoked: list[ConsentGrant] = []
        link_ids = AccountLink.objects.active().filter(user=user, partner_id=partner_id).order_by("pk")
        for link_id in link_ids.values_list("pk", flat=True):  # in id order, as every service locks links
            link = lock_link(link_id)
            what = "withdraw these permissions"
            require_may_act(actor, by, user_id=link.user_id, partner_id=link.partner_id, target=link, what=what)
            on_link = revoke_active_on_link(link=link, by=by, reason=_default_reason(by), actor=actor, ip=ip, at=now)
            if on_link:
                announce_change(event=signals.REVOKED, link=link, grant_ids=[g.pk for g in on_link])
            revoked.extend(on_link)
    return revoked


def consent_revoke_everything(
    *, user: User, actor: Any, by: str = RevokedBy.USER, reason: str = "", ip: str | None = None
) -> list[ConsentGrant]:
    """Revoke every active grant `user` has at every bank, in one transaction; return what was revoked."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        if by == RevokedBy.BANK:
            raise ApplicationError("A bank withdraws its grants one link at a time.", code="invalid")
        require_may_act(actor, by, user_id=user.pk, partner_id=0, target=user, what="withdraw these permissions")
        now = timezone.now()
        revoked: list[ConsentGrant] = []
        # Lock in id order, as every other service does one link at a time, so that nothing deadlocks.
        link_ids = list(
            ConsentGrant.objects.filter(user=user, status=ConsentGrant.Status.ACTIVE)
            .order_by("link_id")
            .values_list("link_id", flat=True)
            .distinct()
        )
        for link_id in link_ids:
            link = lock_link(link_id)
            on_link = revoke_active_on_link(
                link=link, by=by, reason=reason or _default_reason(by), actor=actor, ip=ip, at=now
            )
            if on_link:
                announce_change(event=signals.REVOKED, link=link, grant_ids=[g.pk for g in on_link])
            revoked.extend(on_link)
        audit_append(
            action="consent.revoke_everything",
            actor=actor,
            target=user,
            data={"by": by, "revoked_grants": [g.pk for g in revoked]},
            ip=ip,
        )
    return revoked


def consent_revoke_where(
    *, grants: models.QuerySet[ConsentGrant], by: str, reason: str, actor: Any = None
) -> list[ConsentGrant]:
    """Revoke the active grants in `grants` (a scope retired, a purpose withdrawn, a bank withdrawn), per link.

    Called by the receivers of partners' signals inside the partners service's transaction, never by a
    view: the change it follows was authorised and audited by that service, and commits with this.
    """
    revoked: list[ConsentGrant] = []
    ids_by_link: dict[int, list[int]] = defaultdict(list)
    with transaction.atomic():  # the caller's: the change that ends these grants commits with their ends
        for grant_id, link_id in grants.filter(status=ConsentGrant.Status.ACTIVE).values_list("pk", "link_id"):
            ids_by_link[link_id].append(grant_id)
        at = timezone.now()
        for link_id in sorted(ids_by_link):  # links in id order, as every service locks them: no deadlock
            link = lock_link(link_id)
            on_link = revoke_active_on_link(
                link=link, by=by, reason=reason, actor=actor, ip=None, at=at, filters={"pk__in": ids_by_link[link_id]}
            )
            announce_change(event=signals.REVOKED, link=link, grant_ids=[g.pk for g in on_link])
            revoked.extend(on_link)
    return revoked
