"""Permission classes for the partner API."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from portal.errors import ApplicationError

from ..models import Partner, PartnerApiKey
from ..selectors import partner_terms_status


def calling_key(request: Request) -> PartnerApiKey:
    """Return the API key that made this (already authenticated) request."""
    assert isinstance(request.auth, PartnerApiKey)
    return request.auth


def calling_partner(request: Request) -> Partner:
    """Return the bank whose API key made this (already authenticated) request."""
    return calling_key(request).partner


class IsPartnerKey(BasePermission):
    """Allow only requests authenticated with a partner API key."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, PartnerApiKey)


class TermsAccepted(BasePermission):
    """Refuse with `terms_not_accepted` once a re-acceptance grace period has run out."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, PartnerApiKey):
            return False
        status = partner_terms_status(partner=request.auth.partner)
        if status.blocks_api:
            assert status.current is not None
            raise ApplicationError(
                f"Your bank has not accepted version {status.current.version} of the usage terms and its grace "
                "period has ended. A manager must accept them on the bank's page; the API works again at once.",
                code="terms_not_accepted",
                status=403,
            )
        return True
