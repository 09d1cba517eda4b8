"""TOTP keys as people see them: a new key, its text for typing in, its QR code, and checking a code against it."""

from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify

import segno
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from portal.models import User

KEY_BYTES = 20  # 160 bits, as RFC 4226 recommends and authenticator apps expect
TOLERANCE = 1  # steps either side of now: the clocks of a phone and the server may differ by 30 s


def new_key() -> str:
    """Return a new random TOTP key, hex-encoded as django-otp stores it."""
    return random_hex(KEY_BYTES)


def key_text(key: str) -> str:
    """Return the key in base32, in groups of four, as people type it into an authenticator app."""
    text = b32encode(unhexlify(key)).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def config_url(user: User, key: str) -> str:
    """Return the `otpauth://` address an authenticator app reads from the QR code."""
    return str(TOTPDevice(user=user, key=key).config_url)


def qr_data_uri(url: str) -> str:
    """Return a QR code of `url` as an SVG `data:` URI, drawn on the server (no script, no CDN)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=5, border=2, dark="#0b0c0c", light="#ffffff"))


def matching_step(key: str, code: str, *, after: int = -1) -> int | None:
    """Return the time step whose code `code` is (within the tolerance, later than `after`), or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = TOTP(unhexlify(key))
    totp.time = time.time()
    if totp.verify(int(code), tolerance=TOLERANCE, min_t=after + 1):
        return int(totp.t())
    return None


def current_code(key: str) -> str:
    """Return the code an authenticator app shows for `key` now (for the demo's `demo_totp` and tests)."""
    totp = TOTP(unhexlify(key))
    totp.time = time.time()
    return f"{totp.token():06d}"
