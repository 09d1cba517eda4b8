"""Signed checkpoints: the chain's size and head hash, signed with Ed25519 and kept outside the database.

The signing key comes from settings (`AUDIT_SIGNING_KEY`, base64 of a 32-byte Ed25519 seed), never
from the database. Each checkpoint is written as a small JSON file to `AUDIT_CHECKPOINT_DIR` (a
directory or a mounted object store the database's owner cannot rewrite) and, for the pages, as an
`AuditCheckpoint` row. Verification reads the files only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from ..models import AuditChainHead, AuditCheckpoint
from .entries import canonical_json, timestamp_text


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read back from its file; `valid` says whether our key signed exactly this."""

    size: int
    chain_hash: str
    signed_at: str
    key_id: str
    signature: str
    path: Path
    valid: bool


def signing_key() -> Ed25519PrivateKey:
    """Return the key checkpoints are signed with, from settings."""
    try:
        seed = base64.b64decode(settings.AUDIT_SIGNING_KEY, validate=True)
        return Ed25519PrivateKey.from_private_bytes(seed)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "AUDIT_SIGNING_KEY must be the base64 of a 32-byte Ed25519 seed: make one with `manage.py audit_keygen`."
        ) from exc


def verify_key() -> Ed25519PublicKey:
    """Return the public key checkpoints are checked against (`AUDIT_VERIFY_KEY`, else the signing key's)."""
    if getattr(settings, "AUDIT_VERIFY_KEY", ""):
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(settings.AUDIT_VERIFY_KEY))
    return signing_key().public_key()


def key_id(public: Ed25519PublicKey) -> str:
    """Return a short name for a public key: the first 16 hex digits of its SHA-256."""
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _statement(*, size: int, chain_hash: str, signed_at: str, key: str) -> bytes:
    return canonical_json({"size": size, "chain_hash": chain_hash, "signed_at": signed_at, "key_id": key}).encode()


def checkpoint_dir() -> Path:
    """Return the directory checkpoints are written to (created if missing)."""
    folder = Path(settings.AUDIT_CHECKPOINT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def audit_checkpoint(*, force: bool = False) -> AuditCheckpoint | None:
    """Sign the chain's current size and head, write the checkpoint out and return it.

    Nothing is signed when the chain has not grown since the newest checkpoint, unless `force`. Call
    it outside any transaction that sealed entries (as the beat task does), so it signs only what
    has committed.
    """
    private = signing_key()
    key = key_id(private.public_key())
    with transaction.atomic():
        head = AuditChainHead.objects.filter(id=1).first()
        if head is None or head.size == 0:
            return None
        newest = AuditCheckpoint.objects.order_by("-size", "-signed_at").first()
        if newest is not None and newest.size == head.size and not force:
            return None
        signed_at = timezone.now()
        statement = _statement(size=head.size, chain_hash=head.chain_hash, signed_at=timestamp_text(signed_at), key=key)
        signature = base64.b64encode(private.sign(statement)).decode()
        checkpoint = AuditCheckpoint(
            size=head.size, chain_hash=head.chain_hash, signed_at=signed_at, key_id=key, signature=signature
        )
        checkpoint.save(force_insert=True)
        # Written at once, not after commit: the head it states is committed already (the sequencer
        # commits on its own), so the file is true even if this row's transaction failed.
        _write_file({**json.loads(statement), "signature": signature})
    return checkpoint


def _write_file(body: dict[str, object]) -> None:
    """Write one checkpoint file atomically: a reader sees all of it or none."""
    folder = checkpoint_dir()
    name = f"{int(str(body['size'])):015d}-{str(body['signed_at']).replace(':', '')}.json"
    temporary = folder / f".{name}.tmp"
    temporary.write_text(json.dumps(body, sort_keys=True, indent=1) + "\n")
    os.replace(temporary, folder / name)


def read_checkpoints() -> list[Checkpoint]:
    """Return every checkpoint file, smallest chain first, each marked valid or not under our key."""
    public = verify_key()
    ours = key_id(public)
    found = []
    for path in sorted(checkpoint_dir().glob("*.json")):
        try:
            body = json.loads(path.read_text())
            size, head, signed_at = int(body["size"]), str(body["chain_hash"]), str(body["signed_at"])
            key, signature = str(body["key_id"]), str(body["signature"])
        except (ValueError, KeyError, TypeError, OSError):
            found.append(Checkpoint(0, "", "", "", "", path, valid=False))
            continue
        statement = _statement(size=size, chain_hash=head, signed_at=signed_at, key=key)
        try:
            public.verify(base64.b64decode(signature), statement)
            valid = key == ours
        except (InvalidSignature, binascii.Error, ValueError):
            valid = False
        found.append(Checkpoint(size, head, signed_at, key, signature, path, valid))
    return sorted(found, key=lambda checkpoint: (checkpoint.size, checkpoint.signed_at))
