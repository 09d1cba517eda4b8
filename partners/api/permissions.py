"""Permission classes for the partner API."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..models import Partner, PartnerApiKey


def calling_partner(request: Request) -> Partner:
    """Return the bank whose API key made this (already authenticated) request."""
    assert isinstance(request.auth, PartnerApiKey)
    return request.auth.partner


class IsPartnerKey(BasePermission):
    """Allow only requests authenticated with a partner API key."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, PartnerApiKey)
