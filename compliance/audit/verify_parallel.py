"""Verifying a long chain in several processes at once: stretches of it, each proven on its own.

A stretch needs only the stored chain hash of the link before it, so the chain splits into
stretches that worker processes verify side by side; the results come back in chain order, so the
first break reported is the first in the chain, as one pass from the start would find it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Max

from ..models import AuditChainLink
from ..verify_workers import start_worker, verify_one_stretch
from .sequencer import GENESIS_HASH

if TYPE_CHECKING:
    from .verify import Marks, Stretch

# Below this many entries one process is quicker than starting others.
PARALLEL_FROM = 200_000
STRETCHES_PER_WORKER = 8


def verify_in_parallel(
    marks: Marks, workers: int, total: int, progress: Callable[[int, int], None] | None
) -> Iterator[Stretch]:
    """Yield the stretches of the chain, verified by `workers` processes, in chain order."""
    from .verify import Stretch

    end = AuditChainLink.objects.aggregate(end=Max("position"))["end"] or 0
    size = max(1, -(-end // (workers * STRETCHES_PER_WORKER)))
    starts = list(range(1, end + 1, size))
    before = dict(
        AuditChainLink.objects.filter(position__in=[start - 1 for start in starts[1:]]).values_list(
            "position", "chain_hash"
        )
    )
    database = {key: connection.settings_dict[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
    context = multiprocessing.get_context("spawn")  # a fresh Django and connection in each worker
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings.local")
    with ProcessPoolExecutor(workers, mp_context=context, initargs=(settings_module, database),
                             initializer=start_worker) as pool:  # fmt: skip
        futures: list[Future[Stretch] | None] = []
        for start in starts:
            previous = GENESIS_HASH if start == 1 else before.get(start - 1)
            if previous is None:  # the link before this stretch is not there: the stretch before says so
                futures.append(None)
                continue
            futures.append(pool.submit(verify_one_stretch, start, min(start + size - 1, end), previous, marks))
        checked = 0
        for start, future in zip(starts, futures, strict=True):
            if future is None:
                yield Stretch(start, 0, start - 1, f"entry #{start - 1} is missing")
                return
            stretch = future.result()
            yield stretch
            if stretch.broken_at is not None:
                for waiting in futures:
                    if waiting is not None:
                        waiting.cancel()
                return
            checked += stretch.checked
            if progress is not None:
                progress(checked, total)
