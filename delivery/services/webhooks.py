"""Signed webhooks to banks: queue them for the endpoints that asked, send one, switch a failing one off, replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from compliance.audit import Actor, audit_append
from partners.models import PartnerMembership, WebhookEndpoint
from partners.policy import BankAction, require_member_may
from partners.services import webhook_endpoint_disable
from portal.errors import ApplicationError

from ..backoff import retry_delay_for
from ..models import EndpointHealth, WebhookAttempt, WebhookMessage
from ..outbound import PostResult, post_signed
from ..selectors import webhook_endpoints_listening
from .outbox import publish_webhooks


def webhook_notify(*, partner_id: int, event_type: str, data: dict[str, Any]) -> list[WebhookMessage]:
    """Queue a signed webhook to each of the bank's active endpoints that asked for `event_type`."""
    endpoints = webhook_endpoints_listening(event_type=event_type, partner_id=partner_id).get(partner_id, [])
    return _queue(partner_id=partner_id, endpoints=endpoints, event_type=event_type, data=data)


def webhook_notify_every_bank(*, event_type: str, data: dict[str, Any]) -> list[WebhookMessage]:
    """Queue a signed webhook to every bank's active endpoints that asked for `event_type`."""
    return [
        message
        for partner_id, endpoints in webhook_endpoints_listening(event_type=event_type).items()
        for message in _queue(partner_id=partner_id, endpoints=endpoints, event_type=event_type, data=data)
    ]


def _queue(
    *, partner_id: int, endpoints: list[WebhookEndpoint], event_type: str, data: dict[str, Any]
) -> list[WebhookMessage]:
    """Store one message per endpoint and its audit entry; publish them after commit."""
    if not endpoints:
        return []
    with transaction.atomic():
        messages = []
        for endpoint in endpoints:
            message = WebhookMessage(partner_id=partner_id, endpoint=endpoint, event_type=event_type, payload={})
            message.payload = {"type": event_type, "timestamp": timezone.now().isoformat(), "data": data}
            messages.append(message)
        WebhookMessage.objects.bulk_create(messages)
        audit_append(
            action="delivery.webhook_queued",
            actor=Actor.system("delivery"),
            data={"partner": partner_id, "type": event_type, "endpoints": [e.pk for e in endpoints]},
        )
        ids = [m.pk for m in messages]
        transaction.on_commit(lambda: publish_webhooks(ids), robust=True)
    return messages


def webhook_send(*, message_id: int) -> str:
    """Send one webhook message (signed with every current secret); retry, give up, or disable the endpoint."""
    message = WebhookMessage.objects.select_related("endpoint", "partner").filter(pk=message_id).first()
    if message is None or message.status != WebhookMessage.Status.PENDING:
        return "skipped"
    now = timezone.now()
    if message.next_attempt_at > now + timedelta(seconds=1):
        return "not_due"
    endpoint = message.endpoint
    if not endpoint.is_active:
        WebhookMessage.objects.filter(pk=message.pk).update(status=WebhookMessage.Status.CANCELLED)
        return "cancelled"
    result = post_signed(
        url=endpoint.url, secrets=endpoint.signing_secrets(), msg_id=message.msg_id, body=message.payload
    )
    attempts = message.attempts + 1
    with transaction.atomic():
        WebhookAttempt.objects.create(message=message, attempted_at=now, **result.attempt_fields())
        health, _ = EndpointHealth.objects.select_for_update().get_or_create(endpoint=endpoint)
        if result.ok:
            WebhookMessage.objects.filter(pk=message.pk).update(
                status=WebhookMessage.Status.DELIVERED, attempts=attempts, delivered_at=now, last_error=""
            )
            health.failing_since, health.consecutive_failures, health.last_success_at = None, 0, now
            health.save()
            return "delivered"
        return _failed(message, result, attempts=attempts, health=health, now=now)


def _failed(
    message: WebhookMessage, result: PostResult, *, attempts: int, health: EndpointHealth, now: datetime
) -> str:
    """Schedule the retry or give up; count the endpoint's failure streak and switch it off when too long."""
    error = result.failure
    delay = retry_delay_for(result, attempt=attempts)
    if delay is None:
        WebhookMessage.objects.filter(pk=message.pk).update(
            status=WebhookMessage.Status.DEAD, attempts=attempts, last_error=error
        )
        audit_append(
            action="delivery.webhook_dead_letter",
            actor=Actor.system("delivery"),
            target=message.endpoint,
            data={"partner": message.partner_id, "message": message.msg_id, "type": message.event_type, "error": error},
        )
    else:
        WebhookMessage.objects.filter(pk=message.pk).update(
            attempts=attempts, next_attempt_at=now + timedelta(seconds=delay), enqueued_at=None, last_error=error
        )
    health.failing_since = health.failing_since or now
    health.consecutive_failures += 1
    health.last_failure_at = now
    health.save()
    if now - health.failing_since >= settings.DELIVERY_WEBHOOK_DISABLE_AFTER:
        _disable_endpoint(message.endpoint, since=health.failing_since)
        return "disabled"
    return "dead" if delay is None else "retrying"


def _disable_endpoint(endpoint: WebhookEndpoint, *, since: datetime) -> None:
    reason = f"Disabled after failing without a success since {since:%d %b %Y %H:%M} UTC."
    webhook_endpoint_disable(endpoint=endpoint, reason=reason, actor=Actor.system("delivery"))
    WebhookMessage.objects.filter(endpoint=endpoint, status=WebhookMessage.Status.PENDING).update(
        status=WebhookMessage.Status.CANCELLED
    )
    managers = list(
        PartnerMembership.objects.filter(
            partner_id=endpoint.partner_id, role=PartnerMembership.Role.MANAGER
        ).values_list("user__email", flat=True)
    )
    if managers:
        body = (
            f"Your webhook endpoint {endpoint.url} kept failing, so the platform switched it off. "
            f"{reason} Fix it, then switch it on again on your bank's webhooks page and replay what you missed."
        )
        transaction.on_commit(
            lambda: send_mail("Your webhook endpoint was switched off", body, None, managers, fail_silently=True)
        )


def webhook_replay(*, endpoint: WebhookEndpoint, since: datetime, actor: Any, ip: str | None = None) -> int:
    """Send again every webhook message to `endpoint` created since `since` (at most 1000); return how many."""
    require_member_may(actor, endpoint.partner, BankAction.REPLAY)
    if not endpoint.is_active:
        raise ApplicationError(
            "This endpoint is switched off. Switch it on first, then replay.", code="endpoint_disabled", status=409
        )
    with transaction.atomic():
        ids = list(
            WebhookMessage.objects.filter(endpoint=endpoint, created_at__gte=since)
            .order_by("created_at")
            .values_list("pk", flat=True)[:1000]
        )
        WebhookMessage.objects.filter(pk__in=ids).update(
            status=WebhookMessage.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), enqueued_at=None
        )
        audit_append(
            action="delivery.webhook_replay",
            actor=actor,
            target=endpoint,
            data={"since": since.isoformat(), "count": len(ids)},
            ip=ip,
        )
        transaction.on_commit(lambda: publish_webhooks(ids), robust=True)
    return len(ids)
