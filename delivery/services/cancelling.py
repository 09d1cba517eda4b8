"""Cancelling queued deliveries that may no longer go (consent changed, bank suspended), and replaying dead letters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from compliance.audit import Actor, audit_append
from consent.rules import consent_check
from partners.models import Partner
from partners.policy import BankAction, require_member_may

from ..models import Delivery, PartnerEvent
from .closing import rollup_events
from .outbox import publish_deliveries


def delivery_cancel_for_consent(*, link_id: int, partner_id: int, reason: str) -> int:
    """Cancel the queued deliveries on a link that the consent check no longer allows; return how many."""
    with transaction.atomic():
        open_rows = Delivery.objects.filter(
            event__link_id=link_id, partner_id=partner_id, status__in=Delivery.OPEN_STATUSES
        )
        kinds = set(open_rows.values_list("event__type", "event__environment").distinct())
        refused = sorted(
            (message_type, environment)
            for message_type, environment in kinds
            if not consent_check(
                partner_id=partner_id, link_id=link_id, message_type=message_type, environment=environment or None
            )
        )
        if not refused:
            return 0
        which = Q()
        for message_type, environment in refused:
            which |= Q(event__type=message_type, event__environment=environment)
        count = _cancel(_unheld(open_rows.filter(which)), last_error=f"Cancelled: consent {reason}.")
        audit_append(
            action="delivery.cancel_for_consent",
            actor=Actor.system("delivery"),
            data={
                "link": link_id,
                "partner": partner_id,
                "reason": reason,
                "cancelled": count,
                "types": [t for t, _env in refused],
            },
        )
    return count


def delivery_cancel_for_partner(*, partner_id: int, reason: str) -> int:
    """Cancel every queued delivery of a bank (it was suspended or withdrawn); return how many."""
    with transaction.atomic():
        rows = _unheld(Delivery.objects.filter(partner_id=partner_id, status__in=Delivery.OPEN_STATUSES))
        count = _cancel(rows, last_error=f"Cancelled: the bank was {reason}.")
        if count:
            audit_append(
                action="delivery.cancel_for_partner",
                actor=Actor.system("delivery"),
                data={"partner": partner_id, "reason": reason, "cancelled": count},
            )
    return count


def _unheld(rows: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """Return `rows` narrowed to those no sending batch holds, locked until the transaction ends.

    These cancels run inside the change that causes them (a revocation, a suspension), which already
    holds grants or the bank's row. Waiting here for a batch's row could close a cycle with a batch
    waiting for those; skipping is safe, because a batch holding a row has either checked consent
    before the change (the change waited for it) or will find the change and cancel the row itself.
    """
    ids = list(rows.select_for_update(skip_locked=True, of=("self",)).order_by("pk").values_list("pk", flat=True))
    return Delivery.objects.filter(pk__in=ids)


def _cancel(rows: QuerySet[Delivery], *, last_error: str) -> int:
    """Cancel `rows` and set their events' statuses; return how many were cancelled."""
    event_ids = set(rows.values_list("event_id", flat=True))
    count = rows.update(status=Delivery.Status.CANCELLED, last_error=last_error)
    if count:
        rollup_events(event_ids)
    return count


def delivery_replay(*, deliveries: Iterable[Delivery], actor: Any, ip: str | None = None) -> int:
    """Send dead letters again from a fresh retry schedule; return how many were requeued."""
    dead = [d for d in deliveries if d.status == Delivery.Status.DEAD]
    if not dead:
        return 0
    # Staff replay many banks' letters at once: the actor must be allowed for every one of them.
    for partner in Partner.objects.filter(pk__in={d.partner_id for d in dead}).order_by("pk"):
        require_member_may(actor, partner, BankAction.REPLAY)
    ids = [d.pk for d in dead]
    with transaction.atomic():
        rows = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.DEAD)
        event_ids = set(rows.values_list("event_id", flat=True))
        count = rows.update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), enqueued_at=None, last_error=""
        )
        PartnerEvent.objects.filter(pk__in=event_ids).update(status=PartnerEvent.Status.ACCEPTED)
        audit_append(action="delivery.replay", actor=actor, data={"deliveries": ids[:500], "count": count}, ip=ip)
        publish = list(Delivery.objects.filter(pk__in=ids).values_list("pk", "queue", "partner_id"))
        transaction.on_commit(lambda: publish_deliveries(publish), robust=True)
    return count
