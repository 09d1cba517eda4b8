"""Delivery's answers to other apps' signals: fence revocations, tell banks through webhooks."""

from __future__ import annotations

from typing import Any

from consent import signals as consent_signals
from consent.models import ConsentGrant
from partners.models import Partner, WebhookEvent

from . import services

WEBHOOK_OF_CONSENT_EVENT = {
    consent_signals.GRANTED: WebhookEvent.CONSENT_GRANTED,
    consent_signals.NARROWED: WebhookEvent.CONSENT_GRANTED,  # the grant's new message types
    consent_signals.REVOKED: WebhookEvent.CONSENT_REVOKED,
    consent_signals.UNLINKED: WebhookEvent.CONSENT_REVOKED,
    consent_signals.EXPIRED: WebhookEvent.CONSENT_EXPIRED,
    # A new scope version shortened the grant, or left it as it was: the bank learns what it holds now.
    consent_signals.SHORTENED: WebhookEvent.CONSENT_GRANTED,
    consent_signals.SCOPE_CHANGED: WebhookEvent.CONSENT_GRANTED,
}


def on_consent_expiry_reminded(sender: Any, *, user_id: int, grant_ids: list[int], **kwargs: Any) -> None:
    """Add the inbox half of consent's expiry reminder."""
    services.inbox_remind_expiry(user_id=user_id, grant_ids=grant_ids)


def on_consent_scope_changed(
    sender: Any, *, user_id: int, partner_id: int, scope_name: str, changes: list[str], **kwargs: Any
) -> None:
    """Tell the person, in their inbox, what a bank's new scope wording changed for them."""
    services.inbox_tell_scope_change(user_id=user_id, partner_id=partner_id, scope_name=scope_name, changes=changes)


def on_consent_changed(
    sender: Any, *, grant_ids: list[int], link_id: int, partner_id: int, event: str, **kwargs: Any
) -> None:
    """Cancel queued deliveries the change no longer allows, then tell the bank."""
    if event in consent_signals.ENDING_EVENTS:
        services.delivery_cancel_for_consent(link_id=link_id, partner_id=partner_id, reason=event)
    webhook_type = WEBHOOK_OF_CONSENT_EVENT.get(event)
    if webhook_type is None:
        return
    grants = [
        {
            "id": grant.pk,
            "link": grant.link_id,
            "purpose": grant.purpose,
            "status": grant.status,
            "message_types": grant.message_types,
            "expires_at": grant.expires_at.isoformat(),
        }
        for grant in ConsentGrant.objects.filter(pk__in=grant_ids, partner_id=partner_id)
    ]
    services.webhook_notify(
        partner_id=partner_id, event_type=webhook_type, data={"link": link_id, "change": event, "consents": grants}
    )


def on_partner_status_changed(
    sender: Any, *, partner: Partner, old_status: str, new_status: str, **kwargs: Any
) -> None:
    """Cancel a suspended or withdrawn bank's queued deliveries at once."""
    if new_status in (Partner.Status.SUSPENDED, Partner.Status.WITHDRAWN):
        services.delivery_cancel_for_partner(partner_id=partner.pk, reason=new_status)


def on_terms_published(sender: Any, *, terms: Any, **kwargs: Any) -> None:
    """Tell every bank with a `terms.updated` endpoint about new usage terms."""
    services.webhook_notify_every_bank(
        event_type=WebhookEvent.TERMS_UPDATED,
        data={"version": getattr(terms, "version", None), "title": getattr(terms, "title", "")},
    )
