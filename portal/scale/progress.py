"""A plain terminal progress bar for the scale world: one line, rewritten in place, rows and rows/s."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class Progress:
    """Count rows against an expected total and draw `[#####.....] 45% 450,000/1,000,000 rows 120,000/s part`.

    On a terminal the line is redrawn at most ten times a second; elsewhere (a log, a test) one line
    is printed per finished part, so nothing floods the output.
    """

    def __init__(self, total: int, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()
        self.started = time.perf_counter()
        self.part = ""
        self.part_started = self.started
        self.part_done = 0
        self._drawn = 0.0
        self.parts: list[tuple[str, int, float]] = []

    def begin(self, part: str) -> None:
        """Start counting a new part (a table, an index build)."""
        self.part, self.part_started, self.part_done = part, time.perf_counter(), 0
        self._draw(force=True)

    def advance(self, rows: int) -> None:
        """Count `rows` more rows written."""
        self.done += rows
        self.part_done += rows
        self._draw()

    def end(self) -> None:
        """Finish the current part and keep its figures."""
        seconds = time.perf_counter() - self.part_started
        self.parts.append((self.part, self.part_done, seconds))
        if self.quiet:
            return
        if self.live:
            self.stream.write("\r\x1b[2K")
        rate = self.part_done / seconds if seconds else 0.0
        name = self.part if len(self.part) <= 44 else self.part[:43] + "…"
        counted = f"{self.part_done:>12,} rows" if self.part_done else " " * 17
        rated = f"{rate:>11,.0f} rows/s" if self.part_done else ""
        self.stream.write(f"{name:<44} {counted} {seconds:8.1f} s {rated}\n")
        self.stream.flush()

    @property
    def seconds(self) -> float:
        """Return the seconds since the bar started."""
        return time.perf_counter() - self.started

    def _draw(self, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.live or (not force and now - self._drawn < 0.1):
            return
        self._drawn = now
        share = min(self.done / self.total, 1.0)
        filled = int(share * WIDTH)
        rate = self.done / (now - self.started) if now > self.started else 0.0
        bar = "#" * filled + "." * (WIDTH - filled)
        line = f"[{bar}] {share:4.0%} {self.done:,}/{self.total:,} rows {rate:,.0f}/s  {self.part}"
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
