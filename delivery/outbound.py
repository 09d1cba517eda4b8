"""Signed HTTP POSTs to the messenger gateway and to banks' webhook endpoints, over pooled connections."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from .signing import sign_headers

# One pooled client per process (a worker's child creates its own on first use, after the fork).
_client: httpx.Client | None = None
EXCERPT = 500


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(
            timeout=httpx.Timeout(settings.PORTAL_GATEWAY_TIMEOUT, connect=2.0),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            follow_redirects=False,
            headers={"User-Agent": "bank-partnership-portal/1.0"},
        )
    return _client


@dataclass(frozen=True)
class PostResult:
    """What one POST came to: the status code (None when no answer), timing, a response excerpt, an error."""

    status_code: int | None
    duration_ms: int
    excerpt: str = ""
    error: str = ""
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        """Return True for a 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300

    def attempt_fields(self) -> dict[str, Any]:
        """Return what an attempt row keeps of this POST (DeliveryAttempt and WebhookAttempt share the fields)."""
        return {
            "status_code": self.status_code,
            "duration_ms": self.duration_ms,
            "response_excerpt": self.excerpt,
            "error": self.error,
            "succeeded": self.ok,
        }

    @property
    def failure(self) -> str:
        """Return what went wrong, short enough for a `last_error` column."""
        return (self.error or f"HTTP {self.status_code}: {self.excerpt[:200]}")[:300]


def post_signed(*, url: str, secrets: list[str], msg_id: str, body: Any) -> PostResult:
    """POST `body` as JSON to `url` with Standard Webhooks headers; never raise for network trouble."""
    raw = json.dumps(body, separators=(",", ":"), default=str).encode()
    headers = {"Content-Type": "application/json", **sign_headers(secrets, msg_id, raw)}
    started = time.monotonic()
    try:
        response = _http().post(url, content=raw, headers=headers)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return PostResult(None, elapsed, error=f"{type(exc).__name__}: {exc}"[:300])
    elapsed = int((time.monotonic() - started) * 1000)
    return PostResult(
        response.status_code,
        elapsed,
        excerpt=response.text[:EXCERPT],
        retry_after=response.headers.get("Retry-After"),
    )
