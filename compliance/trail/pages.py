"""Keyset pages of the trail: seek by id from a cursor, never OFFSET, never a count of the table."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from ..models import AuditEntry

PAGE_SIZE = 50


@dataclass(frozen=True)
class TrailPage:
    """One page of entries, newest first, with the cursors of the pages either side (None: nothing there)."""

    entries: list[AuditEntry]
    newer: int | None  # pass as `after`: the page of entries just newer than this one
    older: int | None  # pass as `before`: the page of entries just older than this one

    @property
    def is_first(self) -> bool:
        """Return True when no newer entries were there when the page was read."""
        return self.newer is None


def trail_page(
    entries: QuerySet[AuditEntry], *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> TrailPage:
    """Return the page of `entries` (ordered newest first) just older than `before` or just newer than `after`.

    One query a page, of at most `size + 1` rows, each seek served by an (…, id) index. Entries
    appended meanwhile only ever have larger ids, so following "older" never repeats or skips one.
    """
    if after is not None:
        rows = list(entries.filter(id__gt=after).order_by("id")[: size + 1])
        if len(rows) > size:
            page = rows[:size][::-1]
            return TrailPage(page, newer=page[0].id, older=page[-1].id)
        # Fewer than a page is newer: that is the first page (newest entries), read as such.
        before = None
    if before is not None:
        entries = entries.filter(id__lt=before)
    rows = list(entries[: size + 1])
    page = rows[:size]
    return TrailPage(
        page,
        newer=page[0].id if before is not None and page else None,
        older=page[-1].id if len(rows) > size else None,
    )
