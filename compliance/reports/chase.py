"""Chasing a bank for the deletion attestations it owes: one email to its compliance contacts, audited."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from partners.models import Partner, PartnerMembership
from portal.errors import ApplicationError, PermissionDenied
from portal.models import User

from ..audit import audit_append
from ..models import AttestationChase
from .banks import overdue_grants
from .filters import ReportFilter


def chase_recipients(*, partner: Partner) -> list[str]:
    """Return who hears about a bank's overdue attestations: its compliance contacts, else its managers."""
    people = PartnerMembership.objects.filter(partner=partner, user__is_active=True).select_related("user")
    by_role: dict[str, list[str]] = {}
    for membership in people.order_by("pk"):
        by_role.setdefault(membership.role, []).append(membership.user.email)
    return by_role.get(PartnerMembership.Role.COMPLIANCE) or by_role.get(PartnerMembership.Role.MANAGER) or []


def attestation_chase(*, partner: Partner, actor: Any, ip: str | None = None) -> AttestationChase:
    """Record a chase of `partner`'s overdue deletion attestations with its audit entry; email after commit."""
    if not isinstance(actor, User) or not actor.has_role(User.Role.COMPLIANCE_STAFF):
        raise PermissionDenied("Only compliance staff chase banks for deletion attestations.", code="not_allowed")
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)  # one chase of a bank at a time
        overdue = overdue_grants(ReportFilter(bank=partner, first=timezone.now().date(), last=timezone.now().date()))
        count = overdue.count()
        if count == 0:
            raise ApplicationError(
                f"{partner} owes no overdue deletion attestation now, so nobody was emailed.", code="nothing_overdue"
            )
        to = chase_recipients(partner=partner)
        if not to:
            raise ApplicationError(
                f"{partner} has no compliance contact or manager to email. Ask platform staff to add one.",
                code="no_contact",
            )
        chase = AttestationChase.objects.create(
            partner=partner, sent_by=actor, sent_at=timezone.now(), overdue=count, recipients=len(to)
        )
        audit_append(
            action="compliance.attestation_chase",
            actor=actor,
            target=chase,
            data={"partner": partner.pk, "overdue": count, "recipients": len(to)},
            ip=ip,
        )
        subject = f"{count} deletion attestations are overdue"
        body = (
            f"Hello,\n\n{partner} has {count} ended permissions whose data it has not yet confirmed deleting, "
            "past the platform's deadline.\n\nDelete the data, then confirm each one through the partner API: "
            "POST /api/v1/consents/{id}/deletion-attestation/.\n\nThe platform's compliance team"
        )
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=True), robust=True
        )
    return chase
