"""Reads of delivery, each filtered to who asks: a bank's events, a person's inbox, staff figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from consent.purposes import purpose_of
from consent.selectors import SharedSummary
from partners.models import Partner, WebhookEndpoint
from portal.models import User

from .models import Delivery, DeliveryAttempt, InboxMessage, PartnerEvent


def event_for_partner(*, partner: Partner, pk: int) -> PartnerEvent | None:
    """Return the bank's event `pk` with its deliveries and their attempts (three queries), or None."""
    deliveries = Delivery.objects.order_by("channel").prefetch_related(
        Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("attempted_at", "pk"))
    )
    return (
        PartnerEvent.objects.of_partner(partner)
        .prefetch_related(Prefetch("deliveries", queryset=deliveries))
        .filter(pk=pk)
        .first()
    )


def webhook_endpoints_listening(*, event_type: str, partner_id: int | None = None) -> dict[int, list[WebhookEndpoint]]:
    """Return the active endpoints that asked for `event_type`, by bank: one bank's, or every bank's."""
    endpoints = WebhookEndpoint.objects.filter(is_active=True)
    if partner_id is not None:
        endpoints = endpoints.filter(partner_id=partner_id)
    by_bank: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in endpoints:
        # Tested in Python: SQLite (the embedded default) cannot ask whether a JSON list holds a value.
        if event_type in (endpoint.event_types or []):
            by_bank.setdefault(endpoint.partner_id, []).append(endpoint)
    return by_bank


def webhook_endpoint_for_partner(*, partner: Partner, pk: int) -> WebhookEndpoint | None:
    """Return the bank's webhook endpoint `pk`, or None."""
    return WebhookEndpoint.objects.filter(partner=partner, pk=pk).first()


# --- The inbox -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    """One bank's conversation in a person's inbox."""

    partner: Partner
    unread: int
    last_at: datetime


def inbox_threads_for_user(*, user: User) -> list[Thread]:
    """Return one thread per bank that wrote to the person, newest first (two queries)."""
    rows = list(
        InboxMessage.objects.filter(user=user)
        .values("partner_id")
        .annotate(unread=Count("pk", filter=Q(read_at__isnull=True)), last_at=Max("created_at"))
        .order_by("-last_at")
    )
    partners = Partner.objects.in_bulk([row["partner_id"] for row in rows])
    return [Thread(partners[row["partner_id"]], row["unread"], row["last_at"]) for row in rows]


def inbox_messages_for_user(*, user: User, partner: Partner | None = None) -> QuerySet[InboxMessage]:
    """Return the person's messages (of one bank, or all), newest first."""
    rows = InboxMessage.objects.filter(user=user).select_related("partner", "fraud_answer")
    return rows.filter(partner=partner) if partner is not None else rows


def inbox_messages_after(*, user: User, after_id: int, partner: Partner | None = None) -> QuerySet[InboxMessage]:
    """Return the person's messages newer than `after_id`, oldest first (what the live inbox adds)."""
    return inbox_messages_for_user(user=user, partner=partner).filter(pk__gt=after_id).order_by("pk")[:50]


def inbox_partner_for_user(*, user: User, slug: str) -> Partner | None:
    """Return the bank `slug` if it has written to the person, else None."""
    return Partner.objects.filter(slug=slug, inbox_messages__user=user).distinct().first()


# --- Figures ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryFigures:
    """A bank's delivery health over a window: volume, success rate and latency."""

    since: datetime
    total: int
    delivered: int
    dead: int
    open: int
    p50_ms: int | None
    p95_ms: int | None
    per_hour: list[tuple[str, int, int]]  # (hour label, delivered, not delivered)

    @property
    def success_rate(self) -> float | None:
        """Return the share of finished deliveries that arrived, or None before any finished."""
        finished = self.total - self.open
        return None if finished == 0 else self.delivered / finished


def _percentile(sorted_values: list[float], share: float) -> int | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(share * (len(sorted_values) - 1))))
    return int(sorted_values[index])


def delivery_figures_for_partner(*, partner: Partner, hours: int = 24, sample: int = 5000) -> DeliveryFigures:
    """Return the bank's figures over the last `hours` (latency over at most `sample` recent deliveries)."""
    since = timezone.now() - timedelta(hours=hours)
    rows = Delivery.objects.filter(partner=partner, created_at__gte=since)
    counts = rows.aggregate(
        total=Count("pk"),
        delivered=Count("pk", filter=Q(status=Delivery.Status.DELIVERED)),
        dead=Count("pk", filter=Q(status=Delivery.Status.DEAD)),
        open=Count("pk", filter=Q(status__in=Delivery.OPEN_STATUSES)),
    )
    latencies = sorted(
        (delivered_at - created_at).total_seconds() * 1000  # type: ignore[operator]
        for created_at, delivered_at in rows.filter(status=Delivery.Status.DELIVERED, delivered_at__isnull=False)
        .order_by("-pk")
        .values_list("created_at", "delivered_at")[:sample]
    )
    per_hour: dict[str, list[int]] = {}
    for offset in range(hours - 1, -1, -1):
        label = (timezone.localtime() - timedelta(hours=offset)).strftime("%H:00")
        per_hour[label] = [0, 0]
    for created_at, status in rows.values_list("created_at", "status")[:sample]:
        label = timezone.localtime(created_at).strftime("%H:00")
        if label in per_hour:
            per_hour[label][0 if status == Delivery.Status.DELIVERED else 1] += 1
    return DeliveryFigures(
        since=since,
        total=counts["total"],
        delivered=counts["delivered"],
        dead=counts["dead"],
        open=counts["open"],
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        per_hour=[(label, values[0], values[1]) for label, values in per_hour.items()],
    )


def dead_letters_for_partner(*, partner: Partner) -> QuerySet[Delivery]:
    """Return the bank's dead letters, newest first."""
    return Delivery.objects.dead().filter(partner=partner).select_related("event").order_by("-pk")


def dead_letters() -> QuerySet[Delivery]:
    """Return every dead letter, newest first (for platform staff)."""
    return Delivery.objects.dead().select_related("event", "partner").order_by("-pk")


@dataclass(frozen=True)
class QueueDepth:
    """How much waits in the outbox, per queue and status."""

    queue: str
    pending: int
    off_broker: int  # waiting, and not handed to the broker (yet, or it was away): the sweeper's share
    retrying: int
    oldest: datetime | None


def queue_depths() -> list[QueueDepth]:
    """Return the outbox's depth per queue (one query)."""
    rows = (
        Delivery.objects.open()
        .values("queue")
        .annotate(
            pending=Count("pk", filter=Q(status=Delivery.Status.PENDING)),
            off_broker=Count("pk", filter=Q(status=Delivery.Status.PENDING, enqueued_at__isnull=True)),
            retrying=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
            oldest=Min("created_at"),
        )
        .order_by("queue")
    )
    return [QueueDepth(r["queue"], r["pending"], r["off_broker"], r["retrying"], r["oldest"]) for r in rows]


SHARED_SUMMARY_DAYS = 30


def shared_summaries(user: User) -> list[SharedSummary]:
    """Return, per bank and message type, how many updates reached `user` in the last 30 days.

    Registered with consent's dashboard ("Bank X sent 3 balance updates"); one grouped query and one
    for the banks, whatever the number of messages.
    """
    since = timezone.now() - timedelta(days=SHARED_SUMMARY_DAYS)
    rows = list(
        PartnerEvent.objects.filter(
            link__user=user,
            deliveries__status=Delivery.Status.DELIVERED,
            deliveries__delivered_at__gte=since,
        )
        .values("partner_id", "type")
        .annotate(count=Count("id", distinct=True), last_sent_at=Max("deliveries__delivered_at"))
        .order_by("-last_sent_at")
    )
    partners = Partner.objects.in_bulk({row["partner_id"] for row in rows})
    return [
        SharedSummary(
            partner=partners[row["partner_id"]],
            purpose=purpose_of(row["type"]) or "",
            message_type=row["type"],
            count=row["count"],
            last_sent_at=row["last_sent_at"],
        )
        for row in rows
    ]
