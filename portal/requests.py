"""Facts about an incoming request that services record."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's IP address, as the outermost of our trusted proxies saw it."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = int(getattr(settings, "PORTAL_TRUSTED_PROXIES", 0))
    if proxies <= 0:
        return remote
    # Each trusted proxy appends its peer's address, so only the last `proxies` entries are theirs;
    # whatever stands further left came from the client and may say anything.
    hops = [hop.strip() for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < proxies:
        # The request did not pass every proxy we expect: the header cannot be trusted at all.
        return remote
    seen = hops[-proxies]
    try:
        return str(ipaddress.ip_address(seen))
    except ValueError:
        return remote


def user_agent(request: HttpRequest | None) -> str:
    """Return the request's User-Agent, cut to 500 characters."""
    if request is None:
        return ""
    return str(request.META.get("HTTP_USER_AGENT", ""))[:500]
