"""Writing the scale world into PostgreSQL: COPY streams, secondary indexes set aside and rebuilt, sequences.

Rows arrive as lines of PostgreSQL's COPY text format (tab-separated, `\\N` for NULL, ending in a
newline), built by the part modules; only values that may hold a tab, newline or backslash go through
`text()`. Everything runs on one connection inside the caller's transaction.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .progress import Progress

NULL = "\\N"
# Lines per write: large enough that the driver's overhead vanishes, small enough for a smooth bar.
CHUNK = 20_000
# Chunks a worker pool may have made or be making ahead of the one being written.
IN_FLIGHT = 6
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text(value: str) -> str:
    """Return `value` escaped for COPY's text format."""
    return value.translate(_ESCAPES)


# A part's rows, made for one range of its source (people, links, grants, events, entries): (text, rows, extra).
Chunk = tuple[str, int, Any]
Maker = Callable[[Any, int, int], Chunk]
# What forked workers read: the world as it was drawn before they were forked (copy-on-write, never pickled).
_SHARED: dict[str, Any] = {}


def _make(job: tuple[Maker, int, int]) -> Chunk:
    maker, low, high = job
    return maker(_SHARED["world"], low, high)


def lines(generate: Callable[[Any, int, int], Iterable[str]], world: Any, low: int, high: int) -> Chunk:
    """Return the chunk of the lines `generate` yields for `low..high` (bind `generate` with functools.partial)."""
    made = list(generate(world, low, high))
    return "".join(made), len(made), None


@contextmanager
def workers(world: Any, count: int) -> Iterator[Any]:
    """Yield a pool of `count` forked processes that make chunks of `world`'s rows (None for none).

    Forked once the world is drawn, so each worker reads the drawn columns without copying them. The
    workers never touch the database: they only format text, which the parent streams by COPY.
    """
    if count < 1:
        yield None
        return
    _SHARED["world"] = world
    pool = multiprocessing.get_context("fork").Pool(count)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()
        _SHARED.clear()


class Writer:
    """COPY rows into tables on one psycopg 3 cursor, counting them on a progress bar."""

    def __init__(self, cursor: Any, progress: Progress) -> None:
        self.cursor = cursor
        self.progress = progress
        self.counts: dict[str, int] = {}
        self.pool: Any = None

    def chunks(self, world: Any, maker: Maker, total: int, *, size: int = 20_000) -> Iterator[Chunk]:
        """Yield `maker`'s chunks over `0..total` in order, made by the worker pool when there is one."""
        jobs = [(maker, low, min(low + size, total)) for low in range(0, total, size)]
        if self.pool is None:
            yield from (maker(world, low, high) for _, low, high in jobs)
            return
        # A few chunks in flight, no more: workers faster than the database must not pile text up in memory.
        waiting: deque[Any] = deque()
        for job in jobs:
            waiting.append(self.pool.apply_async(_make, (job,)))
            if len(waiting) > IN_FLIGHT:
                yield waiting.popleft().get()
        while waiting:
            yield waiting.popleft().get()

    def copy_chunks(
        self,
        table: str,
        columns: Sequence[str],
        world: Any,
        maker: Maker,
        total: int,
        *,
        part: str = "",
        each: Callable[[Any], None] | None = None,
    ) -> int:
        """Write the rows `maker` makes for `0..total` into `table` by COPY and return how many.

        `each`, if given, receives every chunk's extra value, in order (the trail chains hashes so).
        """
        self.progress.begin(part or table)
        names = ", ".join(f'"{name}"' for name in columns)
        written = 0
        with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for text_, rows, extra in self.chunks(world, maker, total):
                if each is not None:
                    each(extra)
                copy.write(text_)
                written += rows
                self.progress.advance(rows)
        self.progress.end()
        self.counts[table] = self.counts.get(table, 0) + written
        return written

    def copy(self, table: str, columns: Sequence[str], lines: Iterable[str], *, part: str = "") -> int:
        """Write every line into `table` (given `columns`, in order) by COPY and return how many."""
        self.progress.begin(part or table)
        names = ", ".join(f'"{name}"' for name in columns)
        written = 0
        with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            batch: list[str] = []
            for line in lines:
                batch.append(line)
                if len(batch) == CHUNK:
                    copy.write("".join(batch))
                    written += CHUNK
                    self.progress.advance(CHUNK)
                    batch.clear()
            if batch:
                copy.write("".join(batch))
                written += len(batch)
                self.progress.advance(len(batch))
        self.progress.end()
        self.counts[table] = self.counts.get(table, 0) + written
        return written


def set_aside_indexes(cursor: Any, tables: Iterable[str]) -> list[str]:
    """Drop the plain secondary indexes of `tables` and return the statements that rebuild them.

    Indexes behind a primary key or a unique constraint stay: they check the rows as they arrive.
    Building an index once over all rows is many times faster than keeping it up to date row by row.
    Dropped inside the caller's transaction, so a failed run leaves every index where it was.
    """
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        [list(tables)],
    )
    found = cursor.fetchall()
    for name, _definition in found:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in found]


def rebuild_indexes(cursor: Any, statements: Sequence[str], progress: Progress) -> None:
    """Run each CREATE INDEX statement kept by `set_aside_indexes`, one part of the bar each."""
    for statement in statements:
        name = statement.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
        progress.begin(f"index {name}")
        cursor.execute(statement)
        progress.end()


def reset_sequences(cursor: Any, tables: Iterable[str]) -> None:
    """Move each table's id sequence past the highest id written, so later inserts get fresh ids."""
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT max(id) FROM {table}), 1))"
        )


def next_ids(cursor: Any, tables: Iterable[str]) -> dict[str, int]:
    """Return, per table, the first id the world may use (one past the highest present)."""
    found = {}
    for table in tables:
        cursor.execute(f"SELECT COALESCE(max(id), 0) + 1 FROM {table}")
        found[table] = int(cursor.fetchone()[0])
    return found
