"""Reports on banks' duties now: the usage terms not accepted, and deletion attestations overdue."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from consent.models import ConsentGrant
from partners.models import Partner, TermsAcceptance, UsageTerms
from partners.selectors import terms_state

from ..models import AttestationChase
from .base import CHART_BARS, Chart, Column, Report, by_category, narrowed
from .filters import ReportFilter

# Banks that have been let in (the sandbox and after) owe acceptance of the terms; withdrawn ones no longer.
OWE_TERMS = (Partner.Status.SANDBOX, Partner.Status.LIVE, Partner.Status.SUSPENDED)
TERMS_STATES = {
    "not_accepted": "Never accepted",
    "grace_period": "Older version, in the grace period",
    "blocked": "Older version, API blocked",
}


def _newest_acceptance(field: str) -> Subquery:
    return Subquery(
        TermsAcceptance.objects.filter(partner=OuterRef("pk")).order_by("-terms__version").values(field)[:1]
    )


def terms_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return the banks that have not accepted the current usage terms, with the version they last accepted."""
    current = UsageTerms.objects.current()
    banks = narrowed(Partner.objects.filter(status__in=OWE_TERMS), report_filter, bank_field="pk")
    if current is None:
        return banks.none().values("pk")
    banks = banks.annotate(
        accepted_terms_id=_newest_acceptance("terms_id"), accepted_version=_newest_acceptance("terms__version")
    )
    # The SQL side of `partners.selectors.terms_state`: which banks it can call anything but "accepted".
    owing = Q(accepted_terms_id__isnull=True)
    if current.requires_reacceptance:
        owing |= ~Q(accepted_terms_id=current.pk)
    return (
        banks.filter(owing)
        .values("pk", "legal_name", "status", "accepted_terms_id", "accepted_version")
        .order_by("legal_name", "pk")
    )


def _terms_cells_for(current: UsageTerms | None) -> Any:
    now = timezone.now()

    def cells(row: dict[str, Any]) -> list[Any]:
        state = terms_state(current=current, accepted_terms_id=row["accepted_terms_id"], now=now)
        grace = current.grace_ends_at if current is not None and state != "not_accepted" else None
        return [
            row["legal_name"],
            Partner.Status(row["status"]).label,
            row["accepted_version"] or "none",
            current.version if current else "",
            TERMS_STATES.get(state, state),
            grace,
        ]

    return cells


def _terms_cells() -> Any:
    return _terms_cells_for(UsageTerms.objects.current())


def terms_chart(report_filter: ReportFilter) -> Chart:
    """Return how many banks stand in each state of not having accepted."""
    current = UsageTerms.objects.current()
    counts: dict[str, int] = dict.fromkeys(TERMS_STATES, 0)
    for row in terms_rows(report_filter).iterator(chunk_size=2000):
        state = terms_state(current=current, accepted_terms_id=row["accepted_terms_id"])
        counts[state] = counts.get(state, 0) + 1
    datasets = [{"label": "Banks", "data": [counts[state] for state in TERMS_STATES]}]
    return Chart(list(TERMS_STATES.values()), datasets, "Banks that have not accepted the current terms, by state")


TERMS_NOT_ACCEPTED = Report(
    slug="terms-not-accepted",
    title="Banks with terms not accepted",
    question="Which banks have not accepted the current usage terms, and is their API blocked yet?",
    columns=(
        Column("bank", "Bank"),
        Column("status", "Bank status"),
        Column("accepted", "Last accepted version"),
        Column("current", "Current version"),
        Column("state", "Where it stands"),
        Column("grace_ends", "Grace period ends"),
    ),
    rows=terms_rows,
    cells_for=_terms_cells,
    chart=terms_chart,
    monthly=False,
)


# --- Deletion attestations overdue ---------------------------------------------------------------


def overdue_grants(report_filter: ReportFilter) -> QuerySet[ConsentGrant]:
    """Return the ended grants whose bank has not attested deletion by the deadline."""
    grants = ConsentGrant.objects.filter(deletion_due_at__lt=timezone.now(), deletion_attested_at__isnull=True)
    return narrowed(grants, report_filter)


def overdue_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return per bank how many attestations are overdue, the oldest deadline and the latest chase."""
    last_chase = AttestationChase.objects.filter(partner=OuterRef("partner_id")).order_by("-sent_at").values("sent_at")
    return (
        overdue_grants(report_filter)
        .values("partner_id", "partner__legal_name", "partner__slug")
        .annotate(overdue=Count("pk"), oldest_due=Min("deletion_due_at"), last_chased=Subquery(last_chase[:1]))
        .order_by("oldest_due", "partner_id")
    )


def _overdue_cells(row: dict[str, Any]) -> list[Any]:
    return [row["partner__legal_name"], row["overdue"], row["oldest_due"], row["last_chased"]]


def overdue_grant_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return every overdue grant (the CSV's rows), oldest deadline first."""
    return (
        overdue_grants(report_filter)
        .values(
            "pk",
            "partner__legal_name",
            "scope__code",
            "purpose",
            "status",
            "revoked_at",
            "expires_at",
            "deletion_due_at",
        )
        .order_by("deletion_due_at", "pk")
    )


def _overdue_grant_cells(row: dict[str, Any]) -> list[Any]:
    ended = row["revoked_at"] or row["expires_at"]
    days = (timezone.now() - row["deletion_due_at"]).days
    return [
        row["partner__legal_name"],
        row["pk"],
        row["scope__code"],
        row["purpose"],
        row["status"],
        ended,
        row["deletion_due_at"],
        days,
    ]


def overdue_chart(report_filter: ReportFilter) -> Chart:
    """Return overdue attestations per bank, the banks owing most first."""
    counts = list(
        overdue_grants(report_filter)
        .values_list("partner__legal_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "partner__legal_name")[:CHART_BARS]
    )
    banks = [bank for bank, _n in counts]
    datasets = by_category(((bank, "overdue", n) for bank, n in counts), banks, [("overdue", "Overdue attestations")])
    return Chart(banks, datasets, "Overdue deletion attestations per bank")


OVERDUE_ATTESTATIONS = Report(
    slug="attestations-overdue",
    title="Deletion attestations overdue",
    question="Which banks have not confirmed, by the deadline, that they deleted the data of ended permissions?",
    columns=(
        Column("bank", "Bank"),
        Column("overdue", "Overdue"),
        Column("oldest_due", "Oldest deadline"),
        Column("last_chased", "Last chased"),
    ),
    rows=overdue_rows,
    cells=_overdue_cells,
    chart=overdue_chart,
    monthly=False,
    csv_columns=(
        Column("bank", "Bank"),
        Column("grant", "Grant"),
        Column("scope", "Scope"),
        Column("purpose", "Purpose"),
        Column("status", "Status"),
        Column("ended", "Ended"),
        Column("due", "Deletion due"),
        Column("days", "Days overdue"),
    ),
    csv_rows=overdue_grant_rows,
    csv_cells=_overdue_grant_cells,
    notes=("The CSV lists every overdue permission; the table sums them per bank.",),
)
