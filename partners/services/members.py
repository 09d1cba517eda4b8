"""A bank's people: memberships and their permissions, invitations and their acceptance."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from compliance.audit import audit_append
from portal.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from portal.models import User

from ..models import Invitation, Partner, PartnerMembership
from ..permissions import ROLE_PERMISSIONS
from ..policy import BankAction, require_member_may


def _send_after_commit(*, subject: str, body: str, to: str) -> None:
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=True))


def _site_url(path: str) -> str:
    return f"{settings.PORTAL_SITE_URL.rstrip('/')}{path}"


def _check_role(role: str) -> None:
    if role not in PartnerMembership.Role.values:
        raise ApplicationError(
            "Choose a role: manager, developer or compliance contact.",
            code="invalid_role",
            fields={"role": ["Unknown role."]},
        )


def partner_member_add(*, partner: Partner, user: User, role: str, actor: Any = None) -> PartnerMembership:
    """Make `user` a member of `partner` with `role` and grant that role's permissions."""
    require_member_may(actor, partner, BankAction.MANAGE_MEMBERS)
    return _membership_set(partner=partner, user=user, role=role, actor=actor)


def _membership_set(*, partner: Partner, user: User, role: str, actor: Any) -> PartnerMembership:
    # Callers have decided that `actor` may: a manager, or an invitation the invitee accepts.
    _check_role(role)
    with transaction.atomic():
        membership, created = PartnerMembership.objects.select_for_update().get_or_create(
            partner=partner, user=user, defaults={"role": role}
        )
        if not created and membership.role == role:
            return membership
        if not created:
            for perm in ROLE_PERMISSIONS[membership.role]:
                remove_perm(perm, user, partner)
            membership.role = role
            membership.save(update_fields=["role"])
        for perm in ROLE_PERMISSIONS[role]:
            assign_perm(perm, user, partner)
        audit_append(
            action="partner.member_add" if created else "partner.member_role_change",
            actor=actor,
            target=partner,
            data={"user": user.email, "role": role},
        )
    return membership


def partner_member_remove(*, membership: PartnerMembership, actor: Any) -> None:
    """Remove a member and their permissions; a bank always keeps at least one manager."""
    require_member_may(actor, membership.partner, BankAction.MANAGE_MEMBERS)
    with transaction.atomic():
        membership = (
            PartnerMembership.objects.select_for_update(of=("self",))
            .select_related("partner", "user")
            .get(pk=membership.pk)
        )
        partner = membership.partner
        if (
            membership.role == PartnerMembership.Role.MANAGER
            and partner.memberships.filter(role=PartnerMembership.Role.MANAGER).count() == 1
        ):
            raise ApplicationError(
                "A bank needs at least one manager. Make someone else a manager first.", code="last_manager"
            )
        for perm in ROLE_PERMISSIONS[membership.role]:
            remove_perm(perm, membership.user, partner)
        membership.delete()
        audit_append(action="partner.member_remove", actor=actor, target=partner, data={"user": membership.user.email})


def invitation_create(
    *, partner: Partner, email: str, role: str, actor: Any, first_manager: bool = False
) -> tuple[Invitation, str]:
    """Invite `email` to join `partner` as `role`; return the invitation and its one-time token."""
    if not first_manager:  # the first manager's invitation comes with the bank's own application
        require_member_may(actor, partner, BankAction.MANAGE_MEMBERS)
    email = email.strip().lower()
    _check_role(role)
    with transaction.atomic():
        if partner.memberships.filter(user__email__iexact=email).exists():
            raise Conflict(
                f"{email} is already a member of {partner}.", code="duplicate", fields={"email": ["Already a member."]}
            )
        # A new invitation replaces any pending one to the same address.
        now = timezone.now()
        Invitation.objects.pending().filter(partner=partner, email__iexact=email).update(revoked_at=now)
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            partner=partner,
            email=email,
            role=role,
            token_digest=Invitation.digest_of(token),
            invited_by=actor if isinstance(actor, User) else None,
            expires_at=now + Invitation.VALID_FOR,
        )
        invitation.full_clean()
        invitation.save()
        audit_append(action="partner.invite", actor=actor, target=partner, data={"email": email, "role": role})
        link = _site_url(reverse("partners:invitation", kwargs={"token": token}))
        intro = (
            f"You applied for {partner} to join the bank partnership portal."
            if first_manager
            else f"You are invited to join {partner} on the bank partnership portal as {invitation.get_role_display()}."
        )
        _send_after_commit(
            subject=f"Join {partner} on the bank partnership portal",
            body=f"{intro}\n\nOpen this link to confirm your email address and join (it works once, for 7 days):\n"
            f"{link}\n\nIf you did not expect this, ignore this email.",
            to=email,
        )
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    """Return the invitation a token stands for, or raise a clear error."""
    invitation = Invitation.objects.select_related("partner").filter(token_digest=Invitation.digest_of(token)).first()
    if invitation is None:
        raise NotFound(
            "This invitation link is not valid. Ask the bank's manager for a new one.", code="invitation_invalid"
        )
    return invitation


def invitation_check(*, token: str, user: User | None = None) -> Invitation:
    """Return the invitation if it can still be accepted (by `user`, when given), or raise why not."""
    invitation = invitation_for_token(token)
    _check_acceptable(invitation, user)
    return invitation


def _check_acceptable(invitation: Invitation, user: User | None) -> None:
    if invitation.accepted_at is not None:
        raise ApplicationError("This invitation was already used.", code="invitation_used", status=410)
    if invitation.revoked_at is not None:
        raise ApplicationError(
            "This invitation was withdrawn or replaced by a newer one. Use the newest email.",
            code="invitation_revoked",
            status=410,
        )
    if invitation.is_expired:
        raise ApplicationError(
            "This invitation has expired. Ask the bank's manager to send a new one.",
            code="invitation_expired",
            status=410,
        )
    if user is not None and user.email.lower() != invitation.email.lower():
        raise PermissionDenied(
            f"This invitation is for {invitation.email}. Sign in with that address to accept it.",
            code="invitation_email_mismatch",
        )


def invitation_accept(*, token: str, user: User, ip: str | None = None) -> PartnerMembership:
    """Accept an invitation as `user`, whose email must be the one invited; single use."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation_for_token(token).pk)
        _check_acceptable(invitation, user)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_append(
            action="partner.invitation_accept",
            actor=user,
            target=invitation.partner,
            data={"email": invitation.email, "role": invitation.role},
            ip=ip,
        )
        return _membership_set(partner=invitation.partner, user=user, role=invitation.role, actor=user)


def invitation_revoke(*, invitation: Invitation, actor: Any) -> Invitation:
    """Withdraw a pending invitation."""
    require_member_may(actor, invitation.partner, BankAction.MANAGE_MEMBERS)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_append(
                action="partner.invitation_revoke",
                actor=actor,
                target=invitation.partner,
                data={"email": invitation.email},
            )
    return invitation
