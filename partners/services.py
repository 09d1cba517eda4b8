"""Every write to partner banks, their members and their API keys; each one audited."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from compliance.audit import audit_append
from portal.errors import ApplicationError, Conflict
from portal.models import User

from .models import Partner, PartnerApiKey, PartnerMembership
from .permissions import ROLE_PERMISSIONS

API_KEY_LAST_USED_RESOLUTION = 60  # seconds; keeps a busy key from writing on every request


def partner_create(*, legal_name: str, slug: str, status: str = Partner.Status.APPLIED, actor: Any = None) -> Partner:
    """Create a partner bank and return it."""
    with transaction.atomic():
        if Partner.objects.filter(slug=slug).exists():
            raise Conflict(f"A bank with the address '{slug}' already exists. Choose another.", code="duplicate")
        partner = Partner(legal_name=legal_name, slug=slug, status=status)
        partner.full_clean()
        partner.save()
        audit_append(action="partner.create", actor=actor, target=partner, data={"status": status})
    return partner


def partner_member_add(*, partner: Partner, user: User, role: str, actor: Any = None) -> PartnerMembership:
    """Make `user` a member of `partner` with `role` and grant that role's permissions."""
    if role not in PartnerMembership.Role.values:
        raise ApplicationError(
            "Choose a role: manager, developer or compliance contact.",
            code="invalid_role",
            fields={"role": ["Unknown role."]},
        )
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


def partner_api_key_create(
    *,
    partner: Partner,
    name: str,
    environment: str,
    actor: Any = None,
    raw_key: str | None = None,
) -> tuple[PartnerApiKey, str]:
    """Create an API key for `partner` and return it with the raw key, which is never stored.

    `raw_key` lets `seed_demo` keep the demo bank's key stable across runs; nothing else passes it.
    """
    if environment not in PartnerApiKey.Environment.values:
        raise ApplicationError(
            "Choose sandbox or live.", code="invalid", fields={"environment": ["Unknown environment."]}
        )
    if environment == PartnerApiKey.Environment.LIVE and partner.status != Partner.Status.LIVE:
        raise ApplicationError(
            "Live keys are for live banks. Use a sandbox key until your bank goes live.", code="partner_not_live"
        )
    if raw_key is None:
        lookup = secrets.token_hex(6)
        raw_key = f"{PartnerApiKey.PREFIX}_{environment}_{lookup}_{secrets.token_urlsafe(32)}"
    else:
        lookup = parse_api_key(raw_key)[1]
    with transaction.atomic():
        key = PartnerApiKey(
            partner=partner,
            name=name,
            environment=environment,
            lookup=lookup,
            digest=PartnerApiKey.digest_of(raw_key),
            created_by=actor if isinstance(actor, User) else None,
        )
        key.full_clean()
        key.save()
        audit_append(
            action="partner.api_key_create",
            actor=actor,
            target=partner,
            data={"key": key.masked, "name": name, "environment": environment},
        )
    return key, raw_key


def partner_api_key_revoke(*, key: PartnerApiKey, actor: Any = None) -> PartnerApiKey:
    """Revoke an API key at once; requests with it fail from this commit on."""
    with transaction.atomic():
        key = PartnerApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_append(action="partner.api_key_revoke", actor=actor, target=key.partner, data={"key": key.masked})
    return key


def partner_api_key_touch(*, key: PartnerApiKey) -> None:
    """Record that `key` was just used, at most once a minute (operational, not audited)."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > API_KEY_LAST_USED_RESOLUTION:
        PartnerApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


def parse_api_key(raw_key: str) -> tuple[str, str]:
    """Return the environment and lookup part of a raw key, or raise ApplicationError."""
    parts = raw_key.split("_", 3)
    if len(parts) != 4 or parts[0] != PartnerApiKey.PREFIX or parts[1] not in PartnerApiKey.Environment.values:
        raise ApplicationError("This is not a partner API key.", code="invalid_api_key", status=401)
    return parts[1], parts[2]
