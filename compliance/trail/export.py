"""The trail as CSV: every entry a filter selects, streamed in chunks (flat memory, no row limit), audited."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import CharField, F, Func, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from ..audit import audit_append
from ..audit.entries import TIMESTAMP_SQL, timestamp_text
from ..models import AuditEntry
from .bank_lens import BankLens
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
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
# The columns whose text comes from outside (names, ids, addresses, data): the others are our own
# numbers, codes, hashes and times, which never start like a formula and go out as they are.
TEXT_COLUMNS = frozenset({"actor_id", "actor", "target_id", "target", "ip", "data"})


def safe_cell(value: Any) -> str:
    """Return `value` as CSV text that no spreadsheet will run: text starting like a formula gets a `'`."""
    if value.__class__ is str:
        return "'" + value if value[:1] in _FORMULA_FIRST else value
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = timestamp_text(value) if hasattr(value, "astimezone") else str(value)
    return "'" + text if text[:1] in _FORMULA_FIRST else text


class _Line:
    """A file-like object whose `write` hands back the line `csv.writer` wrote."""

    def write(self, value: str) -> str:
        return value


def _fields() -> list[Any]:
    """Return what to read for each column: on PostgreSQL the time comes as the text the export writes."""
    created: Any = Func(F("created_at"), template=TIMESTAMP_SQL % "%(expressions)s", output_field=CharField())
    if connection.vendor != "postgresql":
        created = "created_at"
    return [created if field == "created_at" else field for _name, field in COLUMNS]


def csv_lines(entries: QuerySet[AuditEntry], lens: BankLens | None = None) -> Iterator[str]:
    """Yield the header and one CSV line per entry, reading the rows `CHUNK` at a time (as `lens` shows them).

    The hot loop of every export: only the columns in `TEXT_COLUMNS` are checked for formulas (numbers
    and None go to `csv.writer` as they are, which writes None as an empty cell).
    """
    writer = csv.writer(_Line())
    names = [name for name, _field in COLUMNS]
    yield writer.writerow(names)
    checked = [index for index, name in enumerate(names) if name in TEXT_COLUMNS]
    created = names.index("created_at")
    rows: Iterable[tuple[Any, ...]] = entries.select_related(None).values_list(*_fields()).iterator(chunk_size=CHUNK)
    for row in rows:
        cells = list(lens.csv_row(names, row) if lens is not None else row)
        if cells[created].__class__ is not str:
            cells[created] = timestamp_text(cells[created])
        for index in checked:
            value = cells[index]
            if value and value.__class__ is str and value[0] in _FORMULA_FIRST:
                cells[index] = "'" + value
        yield writer.writerow(cells)


def trail_export(
    *,
    entries: QuerySet[AuditEntry],
    trail: TrailFilter,
    actor: Any,
    ip: str | None,
    target: Any = None,
    lens: BankLens | None = None,
) -> StreamingHttpResponse:
    """Record who exported which filter, then return the streaming CSV of `entries`.

    `target` is what the export is of, when it is one thing (a bank exporting its own slice), so the
    entry shows in that bank's slice too; `lens` is what that bank may see of each entry.
    """
    with transaction.atomic():
        audit_append(action="audit.export", actor=actor, target=target, data={"filter": trail.describe()}, ip=ip)
    name = f"audit-trail-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(csv_lines(entries, lens), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
