"""Receivers of partners' signals: grants follow what the bank offers, inside the bank's change's transaction."""

from __future__ import annotations

from typing import Any

from compliance.audit import Actor
from partners.models import DataScope, DataScopeVersion, Partner

from .models import ConsentGrant
from .services import consent_follow_scope_version, consent_revoke_where

RevokedBy = ConsentGrant.RevokedBy


def revoke_for_retired_scope(sender: Any, *, scope: DataScope, **kwargs: Any) -> None:
    """End every active grant of a scope the bank retired."""
    consent_revoke_where(
        grants=ConsentGrant.objects.filter(scope=scope),
        by=RevokedBy.BANK,
        reason="The bank no longer offers this data.",
        actor=Actor.system("scope retired"),
    )


def follow_published_version(
    sender: Any, *, scope: DataScope, version: DataScopeVersion, previous: DataScopeVersion | None, **kwargs: Any
) -> None:
    """Bring the scope's grants within its newly published version (a grant never allows more than it)."""
    consent_follow_scope_version(scope=scope, version=version, previous=previous)


def revoke_for_withdrawn_partner(sender: Any, *, partner: Partner, new_status: str, **kwargs: Any) -> None:
    """End every grant given to a bank whose partnership ended."""
    if new_status == Partner.Status.WITHDRAWN:
        consent_revoke_where(
            grants=ConsentGrant.objects.filter(partner=partner),
            by=RevokedBy.PLATFORM,
            reason="The bank left the platform.",
            actor=Actor.system("partner withdrawn"),
        )
