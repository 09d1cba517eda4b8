"""The audit trail: append entries (no lock), seal them into a hash chain, sign checkpoints, verify.

Imports no other app and is called by all. `entries` writes, `sequencer` chains, `checkpoints` signs
and keeps the signatures outside the database, `verify` proves the whole against them.
"""

from .checkpoints import audit_checkpoint, read_checkpoints
from .entries import REDACTED, Actor, audit_append, canonical_json, content_hash, redact
from .sequencer import GENESIS_HASH, audit_seal, chain_hash
from .verify import ChainReport, audit_verify

__all__ = [
    "GENESIS_HASH",
    "REDACTED",
    "Actor",
    "ChainReport",
    "audit_append",
    "audit_checkpoint",
    "audit_seal",
    "audit_verify",
    "canonical_json",
    "chain_hash",
    "content_hash",
    "read_checkpoints",
    "redact",
]
