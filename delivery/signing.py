"""Standard Webhooks signatures: `webhook-id`, `webhook-timestamp`, `webhook-signature` headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
TOLERANCE_SECONDS = 5 * 60


class SignatureError(Exception):
    """A webhook's signature or timestamp did not check out."""


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for one secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_headers(secrets: Sequence[str], msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Return the three headers; during a rotation every current secret adds a signature."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(signature(secret, msg_id, ts, body) for secret in secrets),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: int | None = None) -> str:
    """Return the webhook id if one signature matches `secret` within the tolerance, else raise."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        msg_id, timestamp = lowered["webhook-id"], int(lowered["webhook-timestamp"])
        offered = lowered["webhook-signature"].split()
    except (KeyError, ValueError) as exc:
        raise SignatureError("missing or malformed webhook headers") from exc
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("timestamp outside the five-minute tolerance")
    expected = signature(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise SignatureError("no signature matches")
    return msg_id
