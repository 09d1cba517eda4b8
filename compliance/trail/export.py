"""The trail as CSV: every entry a filter selects, streamed in chunks (flat memory, no row limit), audited."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from ..audit import audit_append
from ..audit.entries import timestamp_text
from ..models import AuditEntry
from .filters import TrailFilter

CHUNK = 2000
COLUMNS = (
    ("id", "id"),
    ("position", "link__position"),
    ("created_at", "created_at"),
    ("actor_type", "actor_type"),
    ("actor_id", "actor_id"),
    ("actor", "actor_label"),
    ("action", "action"),
    ("target_type", "target_type"),
    ("target_id", "target_id"),
    ("target", "target_label"),
    ("bank_id", "partner_id"),
    ("person_id", "person_id"),
    ("ip", "ip"),
    ("data", "data_json"),
    ("content_hash", "content_hash"),
)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """Return `value` as CSV text that no spreadsheet will run: text starting like a formula gets a `'`."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = timestamp_text(value) if hasattr(value, "astimezone") else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object whose `write` hands back the line `csv.writer` wrote."""

    def write(self, value: str) -> str:
        return value


def csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """Yield the header and one CSV line per entry, reading the rows `CHUNK` at a time."""
    writer = csv.writer(_Line())
    yield writer.writerow([name for name, _field in COLUMNS])
    rows: Iterable[tuple[Any, ...]] = (
        entries.select_related(None).values_list(*(field for _name, field in COLUMNS)).iterator(chunk_size=CHUNK)
    )
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def trail_export(
    *, entries: QuerySet[AuditEntry], trail: TrailFilter, actor: Any, ip: str | None, target: Any = None
) -> StreamingHttpResponse:
    """Record who exported which filter, then return the streaming CSV of `entries`.

    `target` is what the export is of, when it is one thing (a bank exporting its own slice), so the
    entry shows in that bank's slice too.
    """
    with transaction.atomic():
        audit_append(action="audit.export", actor=actor, target=target, data={"filter": trail.describe()}, ip=ip)
    name = f"audit-trail-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(csv_lines(entries), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
