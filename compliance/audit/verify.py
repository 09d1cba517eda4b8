"""Verification: recompute every entry's hash and the chain, and hold the chain to the signed checkpoints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import CharField, F, Func

from ..models import AuditChainHead, AuditChainLink, AuditEntry
from .checkpoints import Checkpoint, read_checkpoints
from .entries import HASHED_FIELDS, TIMESTAMP_SQL, content_hash_at, timestamp_text
from .sequencer import GENESIS_HASH, chain_hash

CHUNK = 5000


@dataclass(frozen=True)
class ChainReport:
    """What `audit_verify` found: entries checked, the first break (position and why), what is not yet proven."""

    checked: int
    broken_at: int | None = None
    reason: str = ""
    unsealed: int = 0
    newest_checkpoint: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        """Return True when the whole chain verified."""
        return self.broken_at is None

    @property
    def beyond_checkpoint(self) -> int:
        """Return how many sealed entries are newer than the newest checkpoint (proven by hashes alone)."""
        return self.checked - (self.newest_checkpoint.size if self.newest_checkpoint else 0)


def _checkpoints() -> tuple[dict[int, list[Checkpoint]], Checkpoint | None, str]:
    """Return the valid checkpoints by size, the newest, and a reason if any file is forged or unreadable."""
    by_size: dict[int, list[Checkpoint]] = defaultdict(list)
    newest = None
    for checkpoint in read_checkpoints():
        if not checkpoint.valid:
            return (
                by_size,
                newest,
                (
                    f"the checkpoint file {checkpoint.path.name} is not signed by this portal's key "
                    f"(key {checkpoint.key_id or 'unknown'}): someone wrote it who does not hold AUDIT_SIGNING_KEY"
                ),
            )
        by_size[checkpoint.size].append(checkpoint)
        newest = checkpoint
    return by_size, newest, ""


def _chain_rows() -> Iterator[tuple[Any, ...]]:
    """Yield each link's position, chain hash and entry hash, then the entry's hashed fields, in chain order.

    On PostgreSQL the time comes as the text the hash reads (`TIMESTAMP_SQL`): parsing a datetime of
    every row only to write it out again was a third of verification's time.
    """
    created: Any = "entry__created_at"
    if connection.vendor == "postgresql":
        created = Func(F("entry__created_at"), template=TIMESTAMP_SQL % "%(expressions)s", output_field=CharField())
    fields = (f"entry__{name}" for name in HASHED_FIELDS if name != "created_at")
    return (
        AuditChainLink.objects.order_by("position")
        .values_list("position", "chain_hash", "entry__content_hash", created, *fields)
        .iterator(chunk_size=CHUNK)
    )


def audit_verify(*, progress: Callable[[int, int], None] | None = None) -> ChainReport:
    """Recompute every hash in chain order and return where the chain first breaks, if it does.

    Run `audit_seal()` first to include the newest committed entries.
    """
    by_size, newest, forged = _checkpoints()
    if forged:
        return ChainReport(0, 0, forged, newest_checkpoint=newest)
    head = AuditChainHead.objects.filter(id=1).first()
    total = head.size if head is not None else 0
    rows = _chain_rows()
    previous, checked, proven = GENESIS_HASH, 0, 0
    for position, stored_chain, stored_content, created, *fields in rows:
        if position != checked + 1:
            return ChainReport(checked, checked + 1, f"entry #{checked + 1} is missing", newest_checkpoint=newest)
        content = content_hash_at(created if isinstance(created, str) else timestamp_text(created), fields)
        if content != stored_content:
            reason = "its contents do not match its hash (altered)"
            return ChainReport(checked, position, reason, newest_checkpoint=newest)
        previous = chain_hash(position, previous, content)
        if previous != stored_chain:
            reason = "its link does not match the entries before it (altered, removed or reordered)"
            return ChainReport(checked, position, reason, newest_checkpoint=newest)
        for checkpoint in by_size.get(position, ()):
            if checkpoint.chain_hash != previous:
                reason = (
                    f"the chain up to #{position} does not match the checkpoint signed at {checkpoint.signed_at}: "
                    f"an entry from #{proven + 1} to #{position} was changed and the hashes after it recomputed"
                )
                return ChainReport(checked, proven + 1, reason, newest_checkpoint=newest)
            proven = position
        checked += 1
        if progress is not None and (checked % CHUNK == 0 or checked == total):
            progress(checked, total)
    return _check_the_end(checked, head, newest)


def _check_the_end(checked: int, head: AuditChainHead | None, newest: Checkpoint | None) -> ChainReport:
    """Return the report for a chain whose every link verified: is anything missing after its end?"""
    if newest is not None and newest.size > checked:
        reason = (
            f"the chain ends at #{checked}, but the checkpoint signed at {newest.signed_at} covers #{newest.size}: "
            f"entries #{checked + 1} to #{newest.size} were removed (the trail was truncated)"
        )
        return ChainReport(checked, checked + 1, reason, newest_checkpoint=newest)
    if head is not None and head.size != checked:
        reason = f"the chain head says #{head.size}, but the chain ends at #{checked} (the head was rewound)"
        return ChainReport(checked, min(head.size, checked) + 1, reason, newest_checkpoint=newest)
    unsealed = AuditEntry.objects.filter(link__isnull=True).count()
    return ChainReport(checked, unsealed=unsealed, newest_checkpoint=newest)
