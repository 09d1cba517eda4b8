"""What a report is narrowed to: one bank (or all) and a range of months, read from the query string."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from partners.models import Partner
from portal.errors import ApplicationError

# A regulator asks about years, not decades: longer ranges are refused, not slowly answered.
MAX_MONTHS = 60
DEFAULT_MONTHS = 12
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_start(day: dt.date) -> dt.date:
    """Return the first day of `day`'s month."""
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    """Return the first day of the month after `day`'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_before(day: dt.date, count: int) -> dt.date:
    """Return the first day of the month `count` months before `day`'s."""
    index = day.year * 12 + day.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Return the first day of every month from `first` to `last`, both included."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = next_month(current)
    return months


@dataclass(frozen=True)
class ReportFilter:
    """One bank (None: every bank the viewer may see) and the months from `first` to `last`, both included."""

    bank: Partner | None
    first: dt.date
    last: dt.date

    @property
    def since(self) -> dt.datetime:
        """Return the first moment of the range (UTC)."""
        return dt.datetime.combine(self.first, dt.time.min, tzinfo=dt.UTC)

    @property
    def until(self) -> dt.datetime:
        """Return the first moment after the range (UTC)."""
        return dt.datetime.combine(next_month(self.last), dt.time.min, tzinfo=dt.UTC)

    @property
    def months(self) -> list[dt.date]:
        """Return the first day of every month in the range."""
        return months_between(self.first, self.last)

    def query(self, *, with_bank: bool) -> str:
        """Return the filter as a query string (for pagination and the CSV link)."""
        parts = [f"from={self.first:%Y-%m}", f"to={self.last:%Y-%m}"]
        if with_bank and self.bank is not None:
            parts.insert(0, f"bank={self.bank.slug}")
        return "&".join(parts)


def _month(value: str, field: str) -> dt.date:
    match = MONTH.match(value)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1970:
        raise ApplicationError(
            f"Write the month as year and month, like 2026-03 (you wrote {value[:20]!r}).",
            code="invalid_month",
            fields={field: ["Write a month like 2026-03."]},
        )
    return dt.date(int(match[1]), int(match[2]), 1)


def report_filter(params: Mapping[str, str], *, bank: Partner | None = None, any_bank: bool = True) -> ReportFilter:
    """Return the filter the query string asks for, or raise ApplicationError saying what to change.

    `bank` fixes the bank (a bank's own pages); otherwise `any_bank` lets `?bank=<slug>` choose one.
    Months default to the last twelve, this one included.
    """
    today = timezone.now().date()
    last = _month(params["to"].strip(), "to") if params.get("to", "").strip() else month_start(today)
    if params.get("from", "").strip():
        first = _month(params["from"].strip(), "from")
    else:
        first = months_before(last, DEFAULT_MONTHS - 1)
    if first > last:
        raise ApplicationError(
            "The first month comes after the last one. Swap them, or pick a later last month.",
            code="range_reversed",
            fields={"from": ["Pick a month before the last month."]},
        )
    if len(months_between(first, last)) > MAX_MONTHS:
        raise ApplicationError(
            f"Pick at most {MAX_MONTHS} months at a time; export several ranges for a longer period.",
            code="range_too_long",
            fields={"from": [f"Pick a month at most {MAX_MONTHS} months before the last month."]},
        )
    slug = params.get("bank", "").strip()[:60]
    if bank is None and any_bank and slug:
        bank = Partner.objects.filter(slug=slug).first()
        if bank is None:
            raise ApplicationError(
                "There is no bank with that name in the list. Pick one from the list, or every bank.",
                code="unknown_bank",
                fields={"bank": ["Pick a bank from the list."]},
            )
    return ReportFilter(bank=bank, first=first, last=last)
