"""Verification: recompute every entry's hash and the chain, and hold the chain to the signed checkpoints."""

from __future__ import annotations

import multiprocessing
from bisect import bisect_left
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
from .verify_parallel import PARALLEL_FROM
from .verify_parallel import verify_in_parallel as _verify_in_parallel

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


def _chain_rows(first: int = 1, last: int | None = None) -> Iterator[tuple[Any, ...]]:
    """Yield each link's position, chain hash and entry hash, then the entry's hashed fields, in chain order.

    From position `first` to `last` (the end when None). On PostgreSQL the time comes as the text the
    hash reads (`TIMESTAMP_SQL`): parsing a datetime of every row only to write it out again was a
    third of verification's time.
    """
    created: Any = "entry__created_at"
    if connection.vendor == "postgresql":
        created = Func(F("entry__created_at"), template=TIMESTAMP_SQL % "%(expressions)s", output_field=CharField())
    fields = (f"entry__{name}" for name in HASHED_FIELDS if name != "created_at")
    links = AuditChainLink.objects.filter(position__gte=first)
    if last is not None:
        links = links.filter(position__lte=last)
    return (
        links.order_by("position")
        .values_list("position", "chain_hash", "entry__content_hash", created, *fields)
        .iterator(chunk_size=CHUNK)
    )


@dataclass(frozen=True)
class Stretch:
    """What verifying the links from `first` on found: how many held, the first break, and the last hash."""

    first: int
    checked: int
    broken_at: int | None = None
    reason: str = ""


# The checkpoints a stretch holds its chain to: by size, each (signed at, chain hash); plain data, so that
# a worker process can be given them.
Marks = dict[int, list[tuple[str, str]]]


def _proven_before(position: int, sizes: list[int]) -> int:
    """Return the largest checkpoint size below `position` (0 when none): what was proven before it."""
    index = bisect_left(sizes, position)
    return sizes[index - 1] if index else 0


def verify_stretch(
    first: int,
    last: int | None,
    previous: str,
    marks: Marks,
    progress: Callable[[int], None] | None = None,
) -> Stretch:
    """Verify the links from `first` to `last`, the link before them having the chain hash `previous`.

    Every link is checked against the stored chain hash of the one before it, so stretches verify
    independently (and in parallel) and together prove exactly what one pass from the start would.
    """
    sizes = sorted(marks)
    expected = first
    for position, stored_chain, stored_content, created, *fields in _chain_rows(first, last):
        checked = expected - first
        if position != expected:
            return Stretch(first, checked, expected, f"entry #{expected} is missing")
        content = content_hash_at(created if isinstance(created, str) else timestamp_text(created), fields)
        if content != stored_content:
            return Stretch(first, checked, position, "its contents do not match its hash (altered)")
        previous = chain_hash(position, previous, content)
        if previous != stored_chain:
            reason = "its link does not match the entries before it (altered, removed or reordered)"
            return Stretch(first, checked, position, reason)
        for signed_at, signed_hash in marks.get(position, ()):
            if signed_hash != previous:
                proven = _proven_before(position, sizes)
                reason = (
                    f"the chain up to #{position} does not match the checkpoint signed at {signed_at}: "
                    f"an entry from #{proven + 1} to #{position} was changed and the hashes after it recomputed"
                )
                return Stretch(first, checked, proven + 1, reason)
        expected += 1
        if progress is not None and (expected - first) % CHUNK == 0:
            progress(expected - first)
    if last is not None and expected <= last:
        return Stretch(first, expected - first, expected, f"entry #{expected} is missing")
    return Stretch(first, expected - first)


def audit_verify(*, progress: Callable[[int, int], None] | None = None, workers: int = 1) -> ChainReport:
    """Recompute every hash in chain order and return where the chain first breaks, if it does.

    With `workers` above 1 and a long chain, stretches of it are verified in that many processes at
    once (not from inside a daemon process such as a Celery worker's child, which cannot start any).
    Run `audit_seal()` first to include the newest committed entries.
    """
    by_size, newest, forged = _checkpoints()
    if forged:
        return ChainReport(0, 0, forged, newest_checkpoint=newest)
    head = AuditChainHead.objects.filter(id=1).first()
    total = head.size if head is not None else 0
    marks: Marks = {size: [(str(c.signed_at), c.chain_hash) for c in found] for size, found in by_size.items()}
    if workers > 1 and total >= PARALLEL_FROM and not multiprocessing.current_process().daemon:
        stretches = _verify_in_parallel(marks, workers, total, progress)
    else:
        report = None if progress is None else (lambda done: progress(done, total))
        stretches = iter([verify_stretch(1, None, GENESIS_HASH, marks, report)])
    checked = 0
    for stretch in stretches:
        if stretch.broken_at is not None:
            return ChainReport(checked + stretch.checked, stretch.broken_at, stretch.reason, newest_checkpoint=newest)
        checked += stretch.checked
    if progress is not None:
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
