"""Receivers of partners' signals: when a bank stops offering something, the grants for it end."""

from __future__ import annotations

from typing import Any

from compliance.audit import Actor
from partners.models import DataScope, DataScopeVersion, Partner

from .models import ConsentGrant
from .services import consent_revoke_where

RevokedBy = ConsentGrant.RevokedBy


def revoke_for_retired_scope(sender: Any, *, scope: DataScope, **kwargs: Any) -> None:
    """End every active grant of a scope the bank retired."""
    consent_revoke_where(
        grants=ConsentGrant.objects.filter(scope=scope),
        by=RevokedBy.BANK,
        reason="The bank no longer offers this data.",
        actor=Actor.system("scope retired"),
    )


def revoke_for_withdrawn_purposes(
    sender: Any, *, scope: DataScope, version: DataScopeVersion, previous: DataScopeVersion | None, **kwargs: Any
) -> None:
    """End the grants for purposes a newly published scope version no longer offers."""
    removed = (version.narrowed or {}).get("purposes_removed") or []
    if removed:
        consent_revoke_where(
            grants=ConsentGrant.objects.filter(scope=scope, purpose__in=removed),
            by=RevokedBy.SYSTEM,
            reason="The bank no longer offers this data for this purpose.",
            actor=Actor.system("scope narrowed"),
        )


def revoke_for_withdrawn_partner(sender: Any, *, partner: Partner, new_status: str, **kwargs: Any) -> None:
    """End every grant given to a bank whose partnership ended."""
    if new_status == Partner.Status.WITHDRAWN:
        consent_revoke_where(
            grants=ConsentGrant.objects.filter(partner=partner),
            by=RevokedBy.PLATFORM,
            reason="The bank left the platform.",
            actor=Actor.system("partner withdrawn"),
        )
