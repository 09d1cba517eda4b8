"""Facts about an incoming request that services record."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's IP address: the proxy's forwarded one when we sit behind a proxy."""
    if request is None:
        return None
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def user_agent(request: HttpRequest | None) -> str:
    """Return the request's User-Agent, cut to 500 characters."""
    if request is None:
        return ""
    return str(request.META.get("HTTP_USER_AGENT", ""))[:500]
