"""Erasing a person, delivery's part: clear what banks sent them, and tell each bank by a signed webhook.

The rows stay (counts and states feed the banks' and compliance's figures); their personal content
goes: event payloads, inbox texts, what receivers answered. Each bank the person had linked gets a
`person.erased` webhook naming the link ids, on every active endpoint (a notice it must act on, so not
only to endpoints that subscribed). Called by `compliance.data_requests.erasure` inside its transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from partners.models import WebhookEndpoint, WebhookEvent
from portal.models import User

from ..models import Delivery, DeliveryAttempt, InboxMessage, PartnerEvent, WebhookMessage
from .webhooks import _queue

ERASED_PAYLOAD = {"erased": True}
ERASED_TEXT = "[erased]"


def delivery_erase_person(*, person: User, links_by_bank: dict[int, list[int]]) -> dict[str, int]:
    """Clear the person's event payloads, inbox texts and receivers' answers; queue each bank's notice."""
    with transaction.atomic():
        link_ids = [pk for pks in links_by_bank.values() for pk in pks]
        counts = {
            "events": PartnerEvent.objects.filter(link_id__in=link_ids).update(payload=ERASED_PAYLOAD),
            "inbox": InboxMessage.objects.filter(user=person).update(title=ERASED_TEXT, body=""),
            "deliveries": Delivery.objects.filter(event__link_id__in=link_ids).update(last_error=""),
            "attempts": DeliveryAttempt.objects.filter(delivery__event__link_id__in=link_ids).update(
                response_excerpt="", error=""
            ),
        }
        erased_at = timezone.now().isoformat()
        messages: list[WebhookMessage] = []
        for partner_id, links in sorted(links_by_bank.items()):
            endpoints = list(WebhookEndpoint.objects.filter(partner_id=partner_id, is_active=True).order_by("pk"))
            data = {"links": sorted(links), "erased_at": erased_at}
            messages += _queue(
                partner_id=partner_id, endpoints=endpoints, event_type=WebhookEvent.PERSON_ERASED, data=data
            )
        counts["bank_notices"] = len(messages)
    return counts
