"""A bank's API keys: created and shown once, stored hashed, rotated with an overlap, revoked."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_append
from portal.errors import ApplicationError
from portal.models import User

from ..models import Partner, PartnerApiKey
from ..policy import BankAction, require_member_may

API_KEY_LAST_USED_RESOLUTION = 60  # seconds; keeps a busy key from writing on every request


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
    require_member_may(actor, partner, BankAction.MANAGE_KEYS)
    if environment not in PartnerApiKey.Environment.values:
        raise ApplicationError(
            "Choose sandbox or live.", code="invalid", fields={"environment": ["Unknown environment."]}
        )
    if not partner.may_call_api:
        code = "partner_suspended" if partner.status == Partner.Status.SUSPENDED else "partner_not_approved"
        raise ApplicationError(
            f"A bank that is {partner.get_status_display().lower()} cannot have API keys.", code=code, status=403
        )
    if environment == PartnerApiKey.Environment.LIVE and partner.status != Partner.Status.LIVE:
        raise ApplicationError(
            "Live keys are for live banks. Use a sandbox key until your bank goes live.",
            code="partner_not_live",
            fields={"environment": ["Your bank is not live yet."]},
        )
    if not name.strip():
        raise ApplicationError("Name the key after where it is used.", fields={"name": ["Give the key a name."]})
    if raw_key is None:
        lookup = secrets.token_hex(6)
        raw_key = f"{PartnerApiKey.PREFIX}_{environment}_{lookup}_{secrets.token_urlsafe(32)}"
    else:
        lookup = parse_api_key(raw_key)[1]
    with transaction.atomic():
        key = PartnerApiKey(
            partner=partner,
            name=name.strip(),
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
    require_member_may(actor, key.partner, BankAction.REVOKE_KEY)
    with transaction.atomic():
        key = PartnerApiKey.objects.select_for_update(of=("self",)).select_related("partner").get(pk=key.pk)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_append(action="partner.api_key_revoke", actor=actor, target=key.partner, data={"key": key.masked})
    return key


def partner_api_key_rotate(*, key: PartnerApiKey, actor: Any = None) -> tuple[PartnerApiKey, str]:
    """Replace a key: a new one now, the old one honoured for 24 more hours so servers can switch."""
    require_member_may(actor, key.partner, BankAction.MANAGE_KEYS)
    with transaction.atomic():
        old = PartnerApiKey.objects.select_for_update(of=("self",)).select_related("partner").get(pk=key.pk)
        if not old.is_active:
            raise ApplicationError("This key is revoked or expired; create a new one instead.", code="key_inactive")
        new, raw = partner_api_key_create(partner=old.partner, name=old.name, environment=old.environment, actor=actor)
        old.expires_at = timezone.now() + PartnerApiKey.ROTATION_OVERLAP
        old.save(update_fields=["expires_at"])
        audit_append(
            action="partner.api_key_rotate",
            actor=actor,
            target=old.partner,
            data={"old": old.masked, "new": new.masked, "old_expires_at": old.expires_at},
        )
    return new, raw


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
