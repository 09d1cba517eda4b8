"""Report on the catalog: the history of high-sensitivity scope reviews, read off the audit trail."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth

from ..models import AuditEntry
from .base import Chart, Column, Report, by_month, narrowed
from .filters import ReportFilter

# The audit actions of a review, in the order they happen, and what each means.
REVIEW_ACTIONS = {
    "scope.submit_for_review": "Sent for review",
    "scope.approve_publish": "Approved and published",
    "scope.review_reject": "Sent back to the bank",
}


def _reviews(report_filter: ReportFilter) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(
        action__in=list(REVIEW_ACTIONS), created_at__gte=report_filter.since, created_at__lt=report_filter.until
    )
    return narrowed(entries, report_filter, bank_field="partner_id")


def scope_review_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return every step of every scope review in the range, newest first."""
    return (
        _reviews(report_filter)
        .values("pk", "created_at", "target_label", "action", "actor_label", "data_json")
        .order_by("-pk")
    )


def _review_cells(row: dict[str, Any]) -> list[Any]:
    data = json.loads(row["data_json"] or "{}")
    return [
        row["created_at"],
        row["target_label"],
        data.get("version", ""),
        REVIEW_ACTIONS[row["action"]],
        row["actor_label"],
        data.get("note", ""),
        row["pk"],
    ]


def scope_review_chart(report_filter: ReportFilter) -> Chart:
    """Return review steps per month: sent, approved, sent back."""
    counts = (
        _reviews(report_filter)
        .annotate(month=TruncMonth("created_at"))
        .values_list("month", "action")
        .annotate(n=Count("pk"))
        .order_by()
    )
    labels, datasets = by_month(counts, report_filter, list(REVIEW_ACTIONS.items()))
    return Chart(labels, datasets, "Scope review steps per month", stacked=False)


SCOPE_REVIEWS = Report(
    slug="scope-reviews",
    title="History of scope reviews",
    question="Which high-sensitivity scope versions were sent for review, approved or sent back, by whom and why?",
    columns=(
        Column("created_at", "When"),
        Column("scope", "Scope (bank:code)"),
        Column("version", "Version"),
        Column("step", "What happened"),
        Column("by", "By"),
        Column("note", "Note"),
        Column("entry", "Audit entry"),
    ),
    rows=scope_review_rows,
    cells=_review_cells,
    chart=scope_review_chart,
)
