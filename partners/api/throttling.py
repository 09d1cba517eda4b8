"""Rate limits, shared across processes through Django's cache: per API key, and per network for applications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from portal.requests import client_ip

from ..models import PartnerApiKey

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Limit each API key to the `api_key` rate (settings REST_FRAMEWORK DEFAULT_THROTTLE_RATES)."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, PartnerApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class ApplicationRateThrottle(SimpleRateThrottle):
    """Limit the public bank application to the `partner_application` rate per client address.

    Used by the application page (a plain Django view), counting only applications about to be
    stored, so that someone correcting a form is never turned away.
    """

    scope = "partner_application"

    def allows(self, request: HttpRequest) -> bool:
        """Return True, and count the application, when `request`'s address may apply now."""
        # DRF's throttle reads only the request's address and the clock: a Django request will do.
        return self.allow_request(cast(Request, request), cast("APIView", None))

    def get_rate(self) -> str | None:
        # Read when used (DRF binds its rates at import), so a changed setting applies at once.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate is not None else None

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}
