"""What every report is: its question, its table's columns and rows, its chart, and its CSV that streams."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from ..trail.export import safe_cell
from .filters import ReportFilter

CSV_CHUNK = 2000
# Bars of a chart over banks (or any open-ended list) stop at this many; the table and CSV hold every row.
CHART_BARS = 20


@dataclass(frozen=True)
class Column:
    """One column of a report's table and CSV: the row's key, and the heading people read."""

    key: str
    heading: str


@dataclass(frozen=True)
class Chart:
    """A bar chart's data, handed to the page's static script through a JSON element."""

    labels: list[str]
    datasets: list[dict[str, Any]]
    description: str
    stacked: bool = True

    def as_json(self) -> dict[str, Any]:
        """Return what `static/js/report_chart.js` reads."""
        return {"labels": self.labels, "datasets": self.datasets, "stacked": self.stacked}


Rows = Callable[[ReportFilter], QuerySet[Any]]
Cells = Callable[[dict[str, Any]], list[Any]]


def plain_cells(columns: Sequence[Column]) -> Cells:
    """Return a converter that reads each column's key off a row."""
    return lambda row: [row.get(column.key) for column in columns]


@dataclass(frozen=True)
class Report:
    """One report: what it answers, how to read its rows, its chart, and (if different) its CSV rows."""

    slug: str
    title: str
    question: str
    columns: tuple[Column, ...]
    rows: Rows
    chart: Callable[[ReportFilter], Chart]
    cells: Cells | None = None
    cells_for: Callable[[], Cells] | None = None  # builds the converter once (what every row needs, read once)
    monthly: bool = True  # narrowed by months; False: a state now (overdue, not accepted)
    csv_columns: tuple[Column, ...] = ()
    csv_rows: Rows | None = None
    csv_cells: Cells | None = None
    notes: tuple[str, ...] = field(default=())

    def converter(self) -> Cells:
        """Return what turns a table row into its values in column order."""
        if self.cells_for is not None:
            return self.cells_for()
        return self.cells or plain_cells(self.columns)

    def csv_lines(self, report_filter: ReportFilter) -> Iterator[str]:
        """Yield the CSV's header and one line per row, reading `CSV_CHUNK` rows at a time (flat memory)."""
        columns = self.csv_columns or self.columns
        rows = (self.csv_rows or self.rows)(report_filter)
        convert = self.csv_cells or (self.converter() if not self.csv_columns else plain_cells(columns))
        writer = csv.writer(_Line())
        yield writer.writerow([column.heading for column in columns])
        for row in rows.iterator(chunk_size=CSV_CHUNK):
            yield writer.writerow([safe_cell(value) for value in convert(row)])

    def csv_response(self, report_filter: ReportFilter, *, prefix: str = "") -> StreamingHttpResponse:
        """Return the streaming CSV download of every row the filter selects (no row limit)."""
        name = f"{prefix}{self.slug}-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response = StreamingHttpResponse(self.csv_lines(report_filter), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class _Line:
    """A file-like object whose `write` hands back the line `csv.writer` wrote."""

    def write(self, value: str) -> str:
        return value


def month_label(value: dt.date | dt.datetime) -> str:
    """Return a month as the charts and tables show it: 2026-03."""
    return f"{value:%Y-%m}"


def by_month(
    counts: Iterable[tuple[Any, str, int]], report_filter: ReportFilter, series: Sequence[tuple[str, str]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Return chart labels (every month of the range) and one dataset per series, zeros where nothing happened.

    `counts` holds (month, series key, count); `series` the keys and labels in the order they stack.
    """
    months = [month_label(month) for month in report_filter.months]
    values: dict[str, dict[str, int]] = defaultdict(dict)
    for month, key, count in counts:
        values[key][month_label(month)] = values[key].get(month_label(month), 0) + count
    datasets = [{"label": label, "data": [values[key].get(m, 0) for m in months]} for key, label in series]
    return months, datasets


def by_category(
    counts: Iterable[tuple[str, str, int]], categories: Sequence[str], series: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Return one dataset per series over `categories`, from (category, series key, count) triples."""
    values: dict[tuple[str, str], int] = defaultdict(int)
    for category, key, count in counts:
        values[(category, key)] += count
    return [{"label": label, "data": [values[(c, key)] for c in categories]} for key, label in series]


def narrowed(rows: QuerySet[Any], report_filter: ReportFilter, *, bank_field: str = "partner") -> QuerySet[Any]:
    """Return `rows` of the filter's bank only (all banks when it names none)."""
    return rows if report_filter.bank is None else rows.filter(**{bank_field: report_filter.bank.pk})
