"""Rate limits per API key, shared across processes through Django's cache."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..models import PartnerApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Limit each API key to the `api_key` rate (settings REST_FRAMEWORK DEFAULT_THROTTLE_RATES)."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, PartnerApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
