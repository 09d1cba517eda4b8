"""`manage.py audit_keygen`: make a new Ed25519 key for signing the audit trail's checkpoints."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new AUDIT_SIGNING_KEY and its AUDIT_VERIFY_KEY; keep the first secret, publish the second."

    def handle(self, *args: Any, **options: Any) -> None:
        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.stdout.write(f"AUDIT_SIGNING_KEY={base64.b64encode(seed).decode()}")
        self.stdout.write(f"AUDIT_VERIFY_KEY={base64.b64encode(public).decode()}")
