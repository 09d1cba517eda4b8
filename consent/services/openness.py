"""Refusing to link or grant at a bank that does not reach the person (`consent.rules.bank_open_to`)."""

from __future__ import annotations

from django.db import models

from partners.models import Partner
from portal.models import User

from ..refusals import AuthorisationRefused
from ..rules import bank_open_to


def require_open(partner: Partner, user: User, *, target: models.Model | None = None) -> None:
    """Refuse (audited, as 404) unless `partner` is open to `user`."""
    if not bank_open_to(partner, user):
        raise AuthorisationRefused(
            f"{partner} is not open for linking. Choose a bank from the list.",
            code="bank_unavailable",
            target=target or partner,
            audit_data={"partner": partner.slug, "partner_status": partner.status},
            status=404,
        )
