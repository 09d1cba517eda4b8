"""PKCE (RFC 7636) with the S256 method: the verifier the portal keeps and the challenge the bank sees."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# No package in our requirements does PKCE; S256 is one hash and one base64url, as RFC 7636 §4.2 says.
VERIFIER_BYTES = 64  # 86 characters, inside the 43-128 the RFC allows


def new_code_verifier() -> str:
    """Return a fresh high-entropy code verifier."""
    return secrets.token_urlsafe(VERIFIER_BYTES)


def s256_challenge(code_verifier: str) -> str:
    """Return BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_matches(code_verifier: str, code_challenge: str) -> bool:
    """Return True when `code_verifier` is the one the S256 `code_challenge` was made from."""
    if not 43 <= len(code_verifier) <= 128 or not code_verifier.isascii():
        return False
    return hmac.compare_digest(s256_challenge(code_verifier), code_challenge)
