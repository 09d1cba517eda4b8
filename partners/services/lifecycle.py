"""A bank's lifecycle: it is created or applies, then platform staff move it through its statuses."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from compliance.audit import audit_append
from portal.errors import ApplicationError, Conflict

from .. import signals
from ..models import Invitation, Partner, PartnerMembership
from ..validators import validate_lei
from .members import invitation_create


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "bank"
    slug, n = base, 2
    while Partner.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def partner_create(
    *, legal_name: str, slug: str | None = None, status: str = Partner.Status.APPLIED, actor: Any = None, **details: Any
) -> Partner:
    """Create a partner bank and return it."""
    with transaction.atomic():
        if slug and Partner.objects.filter(slug=slug).exists():
            raise Conflict(f"A bank with the address '{slug}' already exists. Choose another.", code="duplicate")
        partner = Partner(
            legal_name=legal_name.strip(), slug=slug or _unique_slug(legal_name), status=status, **details
        )
        partner.full_clean()
        partner.save()
        audit_append(action="partner.create", actor=actor, target=partner, data={"status": status})
    return partner


def partner_apply(
    *,
    legal_name: str,
    country: str,
    identifier_type: str,
    identifier: str,
    website: str,
    security_contact: str,
    manager_email: str,
    ip: str | None = None,
) -> tuple[Partner, Invitation]:
    """Record a bank's application and invite its first manager, whose acceptance verifies their email."""
    identifier = identifier.strip().upper()
    if identifier_type == Partner.IdentifierType.LEI:
        identifier = validate_lei(identifier)
    with transaction.atomic():
        if (
            Partner.objects.filter(legal_name__iexact=legal_name.strip())
            .exclude(status=Partner.Status.WITHDRAWN)
            .exists()
        ):
            raise Conflict(
                "A bank with this legal name has already applied. Ask its manager to invite you instead.",
                code="duplicate",
                fields={"legal_name": ["This bank has already applied."]},
            )
        partner = Partner(
            legal_name=legal_name.strip(),
            slug=_unique_slug(legal_name),
            country=country,
            identifier_type=identifier_type,
            identifier=identifier,
            website=website,
            security_contact=security_contact,
            status=Partner.Status.APPLIED,
        )
        partner.full_clean()
        partner.save()
        audit_append(
            action="partner.apply",
            actor=None,
            target=partner,
            data={"manager_email": manager_email, "country": country, "identifier": partner.identifier},
            ip=ip,
        )
        invitation, _token = invitation_create(
            partner=partner, email=manager_email, role=PartnerMembership.Role.MANAGER, actor=None, first_manager=True
        )
    return partner, invitation


def partner_transition(
    *, partner: Partner, to_status: str, note: str, actor: Any, missing_confirmed: bool = False
) -> Partner:
    """Move a bank to `to_status` (platform staff), with a note saying why; audited and signalled.

    Going live with steps of the go-live checklist not done needs `missing_confirmed`: staff saw
    what is missing and said why in the note, which the audit entry keeps with the list.
    """
    note = note.strip()
    if not note:
        raise ApplicationError("Write a note that says why.", code="note_required", fields={"note": ["Write a note."]})
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        old_status = partner.status
        if not partner.may_move_to(to_status):
            raise ApplicationError(
                f"A bank that is {partner.get_status_display().lower()} cannot become "
                f"'{to_status}'. Choose one of: {', '.join(Partner.TRANSITIONS.get(old_status, ())) or 'none'}.",
                code="invalid_transition",
                fields={"to_status": ["Not possible from the current status."]},
            )
        if (
            to_status == Partner.Status.SANDBOX
            and not partner.memberships.filter(role=PartnerMembership.Role.MANAGER).exists()
        ):
            raise ApplicationError(
                "The bank has no verified manager yet: its first manager must accept the invitation first.",
                code="manager_not_verified",
            )
        missing: list[str] = []
        if to_status == Partner.Status.LIVE:
            from ..selectors import missing_before_live, partner_checklist, partner_terms_status

            terms = partner_terms_status(partner=partner)
            if not terms.accepted_current:
                raise ApplicationError(
                    "The bank has not accepted the current usage terms; "
                    "a manager must accept them before it goes live.",
                    code="terms_not_accepted",
                )
            missing = [item.label for item in missing_before_live(partner_checklist(partner=partner, terms=terms))]
            if missing and not missing_confirmed:
                raise ApplicationError(
                    f"The bank's go-live checklist is not complete: {', '.join(missing).lower()} missing. "
                    "Tick the box to go live anyway, and say why in the note.",
                    code="checklist_incomplete",
                    fields={"missing_confirmed": ["Tick to go live with these steps missing."]},
                )
        partner.status = to_status
        partner.status_changed_at = timezone.now()
        partner.save(update_fields=["status", "status_changed_at", "updated_at"])
        audit_append(
            action="partner.status_change",
            actor=actor,
            target=partner,
            data={"from": old_status, "to": to_status, "note": note, **({"missing": missing} if missing else {})},
        )
        # Inside the transaction: consent ends the grants and delivery cancels the sends it entails,
        # in rows that commit with the new status or not at all.
        signals.partner_status_changed.send(
            sender=Partner, partner=partner, old_status=old_status, new_status=to_status
        )
    return partner
