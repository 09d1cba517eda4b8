"""Signed HTTP POSTs to the messenger gateway and banks' webhook endpoints: pooled, and only to public addresses."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from django.conf import settings

from portal.outbound_guard import Unresolvable, UnsafeAddress, checked_addresses, insecure_outbound_allowed

from .signing import sign_headers

# One pooled client per process (a worker's child creates its own on first use, after the fork).
_client: httpx.Client | None = None
EXCERPT = 500


class GuardedBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to addresses the outbound rule allows, resolving the name itself.

    httpcore asks for (host, port); this resolves the host once, refuses the connection if any
    address is not public, and connects to a checked address. TLS still names and verifies the host
    (httpcore sends the URL's host as SNI and checks the certificate against it), and the Host header
    is the URL's, so a name whose DNS answer changes between check and connect cannot slip through.
    """

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(host, port, allow_loopback=insecure_outbound_allowed())
        except (UnsafeAddress, Unresolvable) as exc:
            raise httpcore.ConnectError(f"unsafe_url: {exc}") from exc
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # checked_addresses never returns an empty list
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unsafe_url: the platform never calls a local socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over `GuardedBackend`, verifying certificates as usual."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(
            transport=GuardedTransport(limits=httpx.Limits(max_connections=20, max_keepalive_connections=10)),
            timeout=httpx.Timeout(settings.PORTAL_GATEWAY_TIMEOUT, connect=settings.PORTAL_OUTBOUND_CONNECT_TIMEOUT),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: every connection goes through the guard
            headers={"User-Agent": "bank-partnership-portal/1.0"},
        )
    return _client


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """Return at most `limit` bytes of the answer's body, leaving the rest unread."""
    kept = bytearray()
    for chunk in response.iter_bytes():
        kept += chunk[: limit - len(kept)]
        if len(kept) >= limit:
            break
    return bytes(kept)


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
        with _http().stream("POST", url, content=raw, headers=headers) as response:
            body_bytes = _read_capped(response, settings.PORTAL_OUTBOUND_MAX_RESPONSE_BYTES)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return PostResult(None, elapsed, error=f"{type(exc).__name__}: {exc}"[:300])
    elapsed = int((time.monotonic() - started) * 1000)
    return PostResult(
        response.status_code,
        elapsed,
        excerpt=body_bytes[: EXCERPT * 4].decode(response.encoding or "utf-8", errors="replace")[:EXCERPT],
        retry_after=response.headers.get("Retry-After"),
    )
