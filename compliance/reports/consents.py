"""Reports on consent: grants, revocations and expiries per bank, scope and month; grants a narrowed scope changed."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from consent.models import ConsentEvent, GrantScopeChange

from .base import Chart, Column, Report, by_month, month_label, narrowed
from .filters import ReportFilter

Kind = ConsentEvent.Kind
# A grant begins, is withdrawn, or runs out: the events that say so are the record (renewals are not new grants).
ACTIVITY = ((Kind.GRANTED, "Granted"), (Kind.REVOKED, "Revoked"), (Kind.EXPIRED, "Expired"))


def _activity_events(report_filter: ReportFilter) -> QuerySet[ConsentEvent]:
    events = ConsentEvent.objects.filter(
        kind__in=[kind for kind, _label in ACTIVITY],
        created_at__gte=report_filter.since,
        created_at__lt=report_filter.until,
    )
    return narrowed(events, report_filter)


def consent_activity_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return per bank, scope and month how many grants began, were revoked and expired (one grouped query)."""
    return (
        _activity_events(report_filter)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "partner__legal_name", "grant__scope__code")
        .annotate(**{str(kind): Count("pk", filter=Q(kind=kind)) for kind, _label in ACTIVITY})
        .order_by("month", "partner__legal_name", "grant__scope__code")
    )


def _activity_cells(row: dict[str, Any]) -> list[Any]:
    return [
        month_label(row["month"]),
        row["partner__legal_name"],
        row["grant__scope__code"],
        *(row[str(kind)] for kind, _label in ACTIVITY),
    ]


def consent_activity_chart(report_filter: ReportFilter) -> Chart:
    """Return grants, revocations and expiries per month, side by side."""
    counts = (
        _activity_events(report_filter)
        .annotate(month=TruncMonth("created_at"))
        .values_list("month", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    labels, datasets = by_month(counts, report_filter, [(str(kind), label) for kind, label in ACTIVITY])
    return Chart(labels, datasets, "Grants, revocations and expiries per month", stacked=False)


CONSENT_ACTIVITY = Report(
    slug="consent-activity",
    title="Grants, revocations and expiries",
    question="How many permissions did people grant, withdraw, or let run out, per bank, scope and month?",
    columns=(
        Column("month", "Month"),
        Column("bank", "Bank"),
        Column("scope", "Scope"),
        *(Column(str(kind), label) for kind, label in ACTIVITY),
    ),
    rows=consent_activity_rows,
    cells=_activity_cells,
    chart=consent_activity_chart,
    notes=("Counted from the consent events, the person's receipts: a renewal is not counted as a new grant.",),
)


# --- Grants flagged by catalog narrowing -----------------------------------------------------------

Outcome = GrantScopeChange.Outcome
OUTCOME_LABELS = dict(Outcome.choices)
# A bank asking for less (a purpose, a shorter grant, fields taken away) narrows a scope; widening invites review.
NARROWING = (Outcome.REVOKED, Outcome.EXPIRED, Outcome.SHORTENED, Outcome.PINNED)


def _narrowing_changes(report_filter: ReportFilter) -> QuerySet[GrantScopeChange]:
    changes = GrantScopeChange.objects.filter(
        outcome__in=NARROWING, created_at__gte=report_filter.since, created_at__lt=report_filter.until
    )
    return narrowed(changes, report_filter)


def narrowing_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return every grant a narrowed scope version changed, newest first."""
    return (
        _narrowing_changes(report_filter)
        .values(
            "pk",
            "created_at",
            "partner__legal_name",
            "scope_version__scope__code",
            "scope_version__number",
            "grant_id",
            "outcome",
            "expires_before",
            "expires_after",
            "detail",
        )
        .order_by("-created_at", "-pk")
    )


def _narrowing_cells(row: dict[str, Any]) -> list[Any]:
    return [
        row["created_at"],
        row["partner__legal_name"],
        row["scope_version__scope__code"],
        row["scope_version__number"],
        row["grant_id"],
        OUTCOME_LABELS.get(row["outcome"], row["outcome"]),
        row["expires_before"],
        row["expires_after"],
        row["detail"],
    ]


def narrowing_chart(report_filter: ReportFilter) -> Chart:
    """Return the grants narrowing changed per month, by what happened to them."""
    counts = (
        _narrowing_changes(report_filter)
        .annotate(month=TruncMonth("created_at"))
        .values_list("month", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    labels, datasets = by_month(counts, report_filter, [(str(o), Outcome(o).label) for o in NARROWING])
    return Chart(labels, datasets, "Grants changed by narrowed scope versions per month, by outcome")


NARROWING_FLAGS = Report(
    slug="narrowing",
    title="Grants flagged by catalog narrowing",
    question="Which permissions did a bank's narrower scope version end, shorten or leave pinned?",
    columns=(
        Column("created_at", "When"),
        Column("bank", "Bank"),
        Column("scope", "Scope"),
        Column("version", "Version"),
        Column("grant", "Grant"),
        Column("outcome", "What happened"),
        Column("expires_before", "Ended or ends (before)"),
        Column("expires_after", "Ended or ends (after)"),
        Column("detail", "What the person read"),
    ),
    rows=narrowing_rows,
    cells=_narrowing_cells,
    chart=narrowing_chart,
)
