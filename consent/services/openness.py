"""Which banks a person may link and grant at: live ones, and sandbox ones they belong to."""

from __future__ import annotations

from django.db import models

from partners.models import Partner
from portal.models import User

from ..refusals import AuthorisationRefused


def partner_open_to(partner: Partner, user: User) -> bool:
    """Return True when `user` may link and grant at `partner`: a live bank, or a sandbox bank they belong to."""
    if partner.status == Partner.Status.LIVE:
        return True
    if partner.status == Partner.Status.SANDBOX:
        return partner.memberships.filter(user=user).exists()
    return False


def require_open(partner: Partner, user: User, *, target: models.Model | None = None) -> None:
    """Refuse (audited, as 404) unless `partner` is open to `user`."""
    if not partner_open_to(partner, user):
        raise AuthorisationRefused(
            f"{partner} is not open for linking. Choose a bank from the list.",
            code="bank_unavailable",
            target=target or partner,
            audit_data={"partner": partner.slug, "partner_status": partner.status},
            status=404,
        )
