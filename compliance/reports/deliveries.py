"""Reports on delivery: deliveries per purpose and channel, events the consent check refused, dead letters."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, CharField, Count, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth

from consent.purposes import MESSAGE_TYPE_PURPOSE
from delivery.models import Delivery
from partners.models import Purpose

from .base import CHART_BARS, Chart, Column, Report, by_category, by_month, month_label, narrowed
from .filters import ReportFilter

Status = Delivery.Status
Channel = Delivery.Channel
PURPOSE_LABELS = dict(Purpose.choices)
CHANNEL_LABELS = dict(Channel.choices)
# The bank's suspension cancels deliveries too; its reason starts so (`delivery.services.cancelling`).
CANCELLED_FOR_BANK = "Cancelled: the bank was"


def _purpose_of_event() -> Case:
    """Return the purpose of a delivery's event type, in SQL (`consent.purposes` decides it)."""
    return Case(
        *(
            When(event__type=message_type, then=Value(str(purpose)))
            for message_type, purpose in MESSAGE_TYPE_PURPOSE.items()
        ),
        default=Value(""),
        output_field=CharField(),
    )


def _deliveries(report_filter: ReportFilter) -> QuerySet[Delivery]:
    rows = Delivery.objects.filter(created_at__gte=report_filter.since, created_at__lt=report_filter.until)
    return narrowed(rows, report_filter)


def deliveries_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return per month, bank, purpose and channel how many deliveries there were and how they ended."""
    return (
        _deliveries(report_filter)
        .annotate(month=TruncMonth("created_at"), purpose=_purpose_of_event())
        .values("month", "partner__legal_name", "purpose", "channel")
        .annotate(
            total=Count("pk"),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
            dead=Count("pk", filter=Q(status=Status.DEAD)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
            waiting=Count("pk", filter=Q(status__in=Delivery.OPEN_STATUSES)),
        )
        .order_by("month", "partner__legal_name", "purpose", "channel")
    )


def _deliveries_cells(row: dict[str, Any]) -> list[Any]:
    return [
        month_label(row["month"]),
        row["partner__legal_name"],
        PURPOSE_LABELS.get(row["purpose"], row["purpose"]),
        CHANNEL_LABELS.get(row["channel"], row["channel"]),
        row["total"],
        row["delivered"],
        row["dead"],
        row["cancelled"],
        row["waiting"],
    ]


def deliveries_chart(report_filter: ReportFilter) -> Chart:
    """Return deliveries per purpose, stacked by channel."""
    counts = (
        _deliveries(report_filter)
        .annotate(purpose=_purpose_of_event())
        .values_list("purpose", "channel")
        .annotate(n=Count("pk"))
        .order_by()
    )
    purposes = [str(p) for p, _label in Purpose.choices]
    datasets = by_category(counts, purposes, [(str(c), label) for c, label in Channel.choices])
    return Chart([PURPOSE_LABELS[p] for p in purposes], datasets, "Deliveries per purpose, stacked by channel")


DELIVERIES = Report(
    slug="deliveries",
    title="Deliveries per purpose and channel",
    question="How many messages did banks send for each purpose, on each channel, and how did they end?",
    columns=(
        Column("month", "Month"),
        Column("bank", "Bank"),
        Column("purpose", "Purpose"),
        Column("channel", "Channel"),
        Column("total", "Deliveries"),
        Column("delivered", "Delivered"),
        Column("dead", "Dead letters"),
        Column("cancelled", "Cancelled"),
        Column("waiting", "Waiting or retrying"),
    ),
    rows=deliveries_rows,
    cells=_deliveries_cells,
    chart=deliveries_chart,
)


# --- Events the consent check refused ------------------------------------------------------------


def _refused(report_filter: ReportFilter) -> QuerySet[Delivery]:
    rows = _deliveries(report_filter).filter(status=Status.CANCELLED).exclude(last_error__startswith=CANCELLED_FOR_BANK)
    return rows


def refusals_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return per month, bank and event type how many events (and their deliveries) consent stopped."""
    return (
        _refused(report_filter)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "partner__legal_name", "event__type")
        .annotate(events=Count("event_id", distinct=True), deliveries=Count("pk"))
        .order_by("month", "partner__legal_name", "event__type")
    )


def _refusals_cells(row: dict[str, Any]) -> list[Any]:
    return [month_label(row["month"]), row["partner__legal_name"], row["event__type"], row["events"], row["deliveries"]]


def refusals_chart(report_filter: ReportFilter) -> Chart:
    """Return the events consent stopped per month, by event type."""
    counts = (
        _refused(report_filter)
        .annotate(month=TruncMonth("created_at"))
        .values_list("month", "event__type")
        .annotate(n=Count("event_id", distinct=True))
        .order_by()
    )
    types = [str(t) for t in MESSAGE_TYPE_PURPOSE]
    labels, datasets = by_month(counts, report_filter, [(t, t.replace("_", " ")) for t in types])
    return Chart(labels, datasets, "Events stopped by the consent check per month, by type")


CONSENT_REFUSALS = Report(
    slug="consent-refusals",
    title="Events refused by the consent check",
    question="Which events did the consent check stop before they reached a person, per bank, month and type?",
    columns=(
        Column("month", "Month"),
        Column("bank", "Bank"),
        Column("type", "Event type"),
        Column("events", "Events stopped"),
        Column("deliveries", "Deliveries cancelled"),
    ),
    rows=refusals_rows,
    cells=_refusals_cells,
    chart=refusals_chart,
    notes=(
        "Counted at the send: an event whose grant was revoked, expired or narrowed after the bank posted it. "
        "An event refused at intake is answered consent_required and never stored, so it is not counted here; "
        "the intake's audit entry records how many each request had refused.",
    ),
)


# --- Dead letters ----------------------------------------------------------------------------------


def _dead(report_filter: ReportFilter) -> QuerySet[Delivery]:
    return _deliveries(report_filter).filter(status=Status.DEAD)


def dead_letters_rows(report_filter: ReportFilter) -> QuerySet[Any]:
    """Return every dead letter of the range, newest first."""
    return (
        _dead(report_filter)
        .values(
            "pk", "created_at", "partner__legal_name", "event_id", "event__type", "channel", "attempts", "last_error"
        )
        .order_by("-pk")
    )


def _dead_cells(row: dict[str, Any]) -> list[Any]:
    return [
        row["created_at"],
        row["partner__legal_name"],
        row["pk"],
        row["event_id"],
        row["event__type"],
        CHANNEL_LABELS.get(row["channel"], row["channel"]),
        row["attempts"],
        row["last_error"],
    ]


def dead_letters_chart(report_filter: ReportFilter) -> Chart:
    """Return dead letters per bank (the banks with most first), stacked by channel."""
    counts = list(
        _dead(report_filter).values_list("partner__legal_name", "channel").annotate(n=Count("pk")).order_by("-n")[:200]
    )
    totals: dict[str, int] = {}
    for bank, _channel, n in counts:
        totals[bank] = totals.get(bank, 0) + n
    banks = sorted(totals, key=lambda bank: (-totals[bank], bank))[:CHART_BARS]
    datasets = by_category(counts, banks, [(str(c), label) for c, label in Channel.choices])
    return Chart(banks, datasets, "Dead letters per bank, stacked by channel")


DEAD_LETTERS = Report(
    slug="dead-letters",
    title="Dead letters",
    question="Which deliveries failed every retry, at which bank, and with what error?",
    columns=(
        Column("created_at", "Event arrived"),
        Column("bank", "Bank"),
        Column("delivery", "Delivery"),
        Column("event", "Event"),
        Column("type", "Event type"),
        Column("channel", "Channel"),
        Column("attempts", "Attempts"),
        Column("last_error", "Last error"),
    ),
    rows=dead_letters_rows,
    cells=_dead_cells,
    chart=dead_letters_chart,
)
