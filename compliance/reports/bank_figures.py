"""A bank's own consent figures: active grants per scope and purpose, and grants and revocations over time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from consent.models import ConsentEvent, ConsentGrant
from partners.models import Partner, Purpose

from .base import Chart, Column, Report, by_category, by_month, month_label
from .consents import ACTIVITY
from .filters import ReportFilter

PURPOSE_LABELS = dict(Purpose.choices)


def _events(report_filter: ReportFilter) -> QuerySet[ConsentEvent]:
    assert report_filter.bank is not None, "a bank's figures are always of one bank"
    return ConsentEvent.objects.filter(
        partner=report_filter.bank,
        kind__in=[kind for kind, _label in ACTIVITY],
        created_at__gte=report_filter.since,
        created_at__lt=report_filter.until,
    )


def bank_activity_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return per month, scope and purpose the bank's grants, revocations and expiries."""
    return (
        _events(report_filter)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "grant__scope__code", "grant__purpose")
        .annotate(**{str(kind): Count("pk", filter=Q(kind=kind)) for kind, _label in ACTIVITY})
        .order_by("month", "grant__scope__code", "grant__purpose")
    )


def _activity_cells(row: dict[str, Any]) -> list[Any]:
    return [
        month_label(row["month"]),
        row["grant__scope__code"],
        PURPOSE_LABELS.get(row["grant__purpose"], row["grant__purpose"]),
        *(row[str(kind)] for kind, _label in ACTIVITY),
    ]


def bank_activity_chart(report_filter: ReportFilter) -> Chart:
    """Return the bank's grants, revocations and expiries per month."""
    counts = (
        _events(report_filter)
        .annotate(month=TruncMonth("created_at"))
        .values_list("month", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    labels, datasets = by_month(counts, report_filter, [(str(kind), label) for kind, label in ACTIVITY])
    return Chart(labels, datasets, "Your grants, revocations and expiries per month", stacked=False)


BANK_ACTIVITY = Report(
    slug="figures",
    title="Grants and revocations over time",
    question="How many permissions did people give your bank, withdraw, or let run out, per month, scope and purpose?",
    columns=(
        Column("month", "Month"),
        Column("scope", "Scope"),
        Column("purpose", "Purpose"),
        *(Column(str(kind), label) for kind, label in ACTIVITY),
    ),
    rows=bank_activity_rows,
    cells=_activity_cells,
    chart=bank_activity_chart,
)


@dataclass(frozen=True)
class ActiveGrants:
    """The bank's grants in force now: per scope and purpose, with the total, and the chart of them."""

    total: int
    rows: list[tuple[str, str, int]]  # (scope code, purpose label, grants)
    chart: Chart


def active_grants(*, partner: Partner) -> ActiveGrants:
    """Return the bank's grants in force now, per scope and purpose (one grouped query)."""
    counts = list(
        ConsentGrant.objects.active()
        .filter(partner=partner)
        .values_list("scope__code", "purpose")
        .annotate(n=Count("pk"))
        .order_by("scope__code", "purpose")
    )
    scopes = sorted({scope for scope, _purpose, _n in counts})
    purposes = [(str(p), label) for p, label in Purpose.choices if any(p == purpose for _s, purpose, _n in counts)]
    chart = Chart(scopes, by_category(counts, scopes, purposes), "Grants in force now per scope, stacked by purpose")
    rows = [(scope, PURPOSE_LABELS.get(purpose, purpose), n) for scope, purpose, n in counts]
    return ActiveGrants(total=sum(n for _s, _p, n in counts), rows=rows, chart=chart)
