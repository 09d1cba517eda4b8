"""A bank's webhook endpoints: where the platform sends its events, and the secrets that sign them."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_append

from ..models import Partner, WebhookEndpoint
from ..policy import BankAction, require_member_may
from ..validators import validate_changeable, validate_event_types, validate_outbound_url


def webhook_secret_new() -> str:
    """Return a new Standard Webhooks signing secret."""
    # Standard Webhooks: "whsec_" and the base64 of the key bytes.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def webhook_endpoint_create(
    *, partner: Partner, url: str, event_types: Any, actor: Any, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register a webhook endpoint; return it with its signing secret (shown to the bank once)."""
    require_member_may(actor, partner, BankAction.MANAGE_WEBHOOKS)
    endpoint = WebhookEndpoint(
        partner=partner,
        url=validate_outbound_url(url),
        event_types=validate_event_types(event_types),
        description=description.strip()[:200],
        secret=webhook_secret_new(),
    )
    with transaction.atomic():
        endpoint.full_clean()
        endpoint.save()
        audit_append(
            action="webhook.create",
            actor=actor,
            target=endpoint,
            data={"url": url, "event_types": endpoint.event_types},
        )
    return endpoint, endpoint.secret


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor: Any, **values: Any) -> WebhookEndpoint:
    """Change an endpoint's URL, events, description, or switch it on or off."""
    require_member_may(actor, endpoint.partner, BankAction.MANAGE_WEBHOOKS)
    validate_changeable(values, changeable=("url", "event_types", "description", "is_active"))
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if "url" in values:
            endpoint.url = validate_outbound_url(values["url"])
        if "event_types" in values:
            endpoint.event_types = validate_event_types(values["event_types"])
        if "description" in values:
            endpoint.description = str(values["description"]).strip()[:200]
        if "is_active" in values:
            endpoint.is_active = bool(values["is_active"])
            endpoint.disabled_at = None if endpoint.is_active else timezone.now()
            endpoint.disabled_reason = "" if endpoint.is_active else "Switched off by the bank."
        endpoint.full_clean()
        endpoint.save()
        audit_append(action="webhook.update", actor=actor, target=endpoint, data=values)
    return endpoint


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, actor: Any) -> WebhookEndpoint:
    """Switch an endpoint off for `reason` (the platform does when it keeps failing); the bank switches it on."""
    require_member_may(actor, endpoint.partner, BankAction.MANAGE_WEBHOOKS)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.is_active = False
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = reason.strip()[:200]
        endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
        audit_append(action="webhook.disable", actor=actor, target=endpoint, data={"reason": endpoint.disabled_reason})
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Any) -> None:
    """Remove an endpoint; nothing more is sent to it."""
    require_member_may(actor, endpoint.partner, BankAction.MANAGE_WEBHOOKS)
    with transaction.atomic():
        audit_append(action="webhook.delete", actor=actor, target=endpoint, data={"url": endpoint.url})
        endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Any) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new secret; the old one still signs (second signature) for 24 hours."""
    require_member_may(actor, endpoint.partner, BankAction.MANAGE_WEBHOOKS)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + WebhookEndpoint.ROTATION_OVERLAP
        endpoint.secret = webhook_secret_new()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        audit_append(
            action="webhook.rotate_secret",
            actor=actor,
            target=endpoint,
            data={"previous_valid_until": endpoint.previous_secret_expires_at},
        )
    return endpoint, endpoint.secret
