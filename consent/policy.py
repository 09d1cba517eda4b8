"""Who may change a grant or link: the person, their bank, platform or compliance staff, or the system."""

from __future__ import annotations

from typing import Any

from django.db import models

from compliance.audit import Actor
from partners.models import Partner, PartnerApiKey
from partners.policy import BankAction, member_may
from portal.errors import ApplicationError
from portal.models import User

from .models import ConsentGrant
from .refusals import AuthorisationRefused

RevokedBy = ConsentGrant.RevokedBy


def actor_label(actor: Any) -> str:
    """Return how an actor appears in a consent event: user, bank, platform, compliance or system."""
    if isinstance(actor, PartnerApiKey):
        return RevokedBy.BANK
    if isinstance(actor, User):
        return RevokedBy.USER
    return RevokedBy.SYSTEM


def may_act_as(actor: Any, by: str, *, user_id: int, partner_id: int) -> bool:
    """Return True when `actor` may change a grant of person `user_id` at bank `partner_id` as `by`."""
    if by == RevokedBy.USER:
        return isinstance(actor, User) and actor.pk == user_id
    if by == RevokedBy.BANK:
        # Only a bank's key or person acts as the bank here; the platform acts as SYSTEM.
        if not isinstance(actor, PartnerApiKey | User):
            return False
        partner = Partner.objects.filter(pk=partner_id).first()
        return partner is not None and member_may(actor, partner, BankAction.ACT_ON_CONSENTS)
    if by == RevokedBy.PLATFORM:
        return isinstance(actor, User) and actor.has_role(User.Role.PLATFORM_STAFF)
    if by == RevokedBy.COMPLIANCE:
        return isinstance(actor, User) and actor.has_role(User.Role.COMPLIANCE_STAFF)
    if by == RevokedBy.SYSTEM:
        return actor is None or (isinstance(actor, Actor) and actor.type == "system")
    return False


def require_may_act(actor: Any, by: str, *, user_id: int, partner_id: int, target: models.Model, what: str) -> None:
    """Refuse (audited by the caller's `refusals_audited`) unless `actor` may act as `by` on `target`."""
    if by not in RevokedBy.values:
        raise ApplicationError(f"Unknown revoker {by!r}.", code="invalid")
    if not may_act_as(actor, by, user_id=user_id, partner_id=partner_id):
        raise AuthorisationRefused(
            f"You cannot {what}: it belongs to someone else. Nothing was changed.",
            code="not_yours",
            target=target,
            audit_data={"as": by},
        )
