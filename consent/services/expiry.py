"""Grants reaching their end date: expiring them, and reminding people by email before they do."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from compliance.audit import Actor, audit_append
from portal.models import User
from portal.moments import day

from .. import signals
from ..models import ConsentGrant
from .locks import lock_link
from .records import announce_change
from .revoking import end_grant

RevokedBy = ConsentGrant.RevokedBy


def reminder_lead_time() -> timedelta:
    """Return how long before expiry people are reminded (default 30 days)."""
    return timedelta(days=getattr(settings, "CONSENT_REMINDER_DAYS", 30))


def consent_expire_due(*, at: datetime | None = None) -> int:
    """Expire every grant whose end date has passed, one link per transaction; return how many expired."""
    at = at or timezone.now()
    ids_by_link: dict[int, list[int]] = defaultdict(list)
    for grant_id, link_id in ConsentGrant.objects.due_to_expire(at).values_list("pk", "link_id"):
        ids_by_link[link_id].append(grant_id)
    expired = 0
    system = Actor.system("consent expiry")
    for link_id in sorted(ids_by_link):
        with transaction.atomic():
            link = lock_link(link_id)
            grants = list(
                ConsentGrant.objects.select_for_update(of=("self",))
                .select_related("scope", "scope_version", "terms")
                .due_to_expire(at)
                .filter(link=link, pk__in=ids_by_link[link_id])
                .order_by("pk")
            )
            for grant in grants:
                end_grant(
                    grant,
                    link=link,
                    status=ConsentGrant.Status.EXPIRED,
                    by=RevokedBy.SYSTEM,
                    reason="The permission reached its end date.",
                    actor=system,
                    ip=None,
                    at=at,
                )
            if grants:
                announce_change(event=signals.EXPIRED, link=link, grant_ids=[g.pk for g in grants])
            expired += len(grants)
    return expired


def consent_send_expiry_reminders(*, at: datetime | None = None) -> int:
    """Email each person whose grants end within the reminder window, once per grant; return how many people."""
    at = at or timezone.now()
    due = (
        ConsentGrant.objects.active(at)
        .filter(expires_at__lte=at + reminder_lead_time(), reminder_sent_at__isnull=True)
        .values_list("user_id", flat=True)
        .distinct()
    )
    reminded = 0
    system = Actor.system("consent reminders")
    for user_id in sorted(set(due)):
        with transaction.atomic():
            grants = list(
                ConsentGrant.objects.select_for_update(of=("self",))
                .select_related("partner", "scope_version", "user")
                .active(at)
                .filter(user_id=user_id, expires_at__lte=at + reminder_lead_time(), reminder_sent_at__isnull=True)
                .order_by("expires_at", "pk")
            )
            if not grants:
                continue  # another beat got there first
            ConsentGrant.objects.filter(pk__in=[g.pk for g in grants]).update(reminder_sent_at=at)
            user = grants[0].user
            audit_append(
                action="consent.expiry_reminder",
                actor=system,
                target=user,
                data={"grants": [g.pk for g in grants], "email": user.email},
            )
            _email_reminder(user, grants)
            # In this transaction: the inbox half of the reminder commits with the reminder's mark.
            signals.consent_expiry_reminded.send(sender=ConsentGrant, user_id=user_id, grant_ids=[g.pk for g in grants])
            reminded += 1
    return reminded


def _zone(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _email_reminder(user: User, grants: list[ConsentGrant]) -> None:
    lines = [
        f"- {grant.partner}: {grant.scope_version.name} for {grant.get_purpose_display().lower()}, "
        f"ends {day(grant.expires_at, _zone(user))}"
        for grant in grants
    ]
    url = f"{settings.PORTAL_SITE_URL.rstrip('/')}{reverse('consent:dashboard')}"
    body = (
        "These permissions you gave your banks end soon:\n\n"
        + "\n".join(lines)
        + f"\n\nTo keep them, renew them on your dashboard: {url}\n"
        "If you do nothing, they simply end and your banks stop sending you these messages.\n"
    )
    to = user.email
    transaction.on_commit(
        lambda: send_mail("Your bank permissions end soon", body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=True)
    )
