"""Sending the person's messages to the bank's bot: publish after commit, send one under its lock, sweep."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from compliance.audit import Actor, audit_append
from consent.rules import consent_check_many
from partners.models import ChatbotCapability, MessageType, Partner
from partners.policy import BankAction, require_member_may

from ..backoff import retry_delay_for
from ..outbound import post_signed
from .models import BotAttempt, BotMessage

logger = logging.getLogger(__name__)

# The consent a bot message rests on: the bot's replies (customer service), or the fraud alert answered.
CONSENT_OF = {
    BotMessage.Type.CHAT_MESSAGE: MessageType.CHAT_REPLY,
    BotMessage.Type.FRAUD_ALERT_ANSWERED: MessageType.FRAUD_ALERT,
}


def publish_bot_messages(ids: list[int]) -> int:
    """Enqueue one task per bot message; mark them enqueued. Return how many went."""
    from .. import tasks  # tasks import services: import here to keep the cycle out of module load

    sent = []
    for pk in ids:
        try:
            tasks.send_bot_message.apply_async(
                args=(pk,), retry=True, retry_policy={"max_retries": 1, "interval_start": 0, "interval_max": 0.5}
            )
        except Exception:
            logger.warning("Could not enqueue bot message %s; the sweeper will retry", pk, exc_info=True)
            continue
        sent.append(pk)
    if sent:
        BotMessage.objects.filter(pk__in=sent).update(enqueued_at=timezone.now())
    return len(sent)


def bot_messages_sweep(*, now: datetime, reenqueue_after: timedelta, limit: int) -> int:
    """Enqueue bot messages the broker never got (or lost), and due retries; return how many."""
    ids = list(
        BotMessage.objects.filter(status=BotMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - reenqueue_after))
        .values_list("pk", flat=True)[:limit]
    )
    return publish_bot_messages(ids) if ids else 0


def _close(message: BotMessage, status: str, error: str) -> str:
    BotMessage.objects.filter(pk=message.pk).update(status=status, last_error=error[:300])
    return str(status)


def bot_message_send(*, message_id: int) -> str:
    """Send one bot message, signed with its capability's secret; retry, give up, or cancel it.

    The row stays locked (`FOR UPDATE SKIP LOCKED`) for the send, so two tasks with the same id never
    both post it; the consent it rests on is checked again and held FOR SHARE until the send is done,
    so a withdrawal commits first (and nothing goes) or waits for it.
    """
    with transaction.atomic():
        message = (
            BotMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("capability", "chat_message")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.status != BotMessage.Status.PENDING:
            return "skipped"
        now = timezone.now()
        if message.next_attempt_at > now + timedelta(seconds=1):
            return "not_due"
        bot = message.capability
        if bot.status != ChatbotCapability.Status.PUBLISHED or not bot.webhook_url or not bot.signing_secret:
            return _close(message, BotMessage.Status.CANCELLED, "The bank's chatbot is no longer published.")
        link_id = message.chat_message.link_id
        wanted = (link_id or 0, CONSENT_OF[BotMessage.Type(message.event_type)])
        if link_id is None or wanted not in consent_check_many(
            partner_id=message.partner_id, pairs=[wanted], hold=True
        ):
            return _close(message, BotMessage.Status.CANCELLED, "The person's consent no longer allows this.")
        result = post_signed(
            url=bot.webhook_url, secrets=[bot.signing_secret], msg_id=message.msg_id, body=message.payload
        )
        attempts = message.attempts + 1
        BotAttempt.objects.create(message=message, attempted_at=now, **result.attempt_fields())
        if result.ok:
            BotMessage.objects.filter(pk=message.pk).update(
                status=BotMessage.Status.DELIVERED, attempts=attempts, delivered_at=timezone.now(), last_error=""
            )
            return "delivered"
        delay = retry_delay_for(result, attempt=attempts)
        if delay is None:
            BotMessage.objects.filter(pk=message.pk).update(
                status=BotMessage.Status.DEAD, attempts=attempts, last_error=result.failure
            )
            audit_append(
                action="delivery.bot_dead_letter",
                actor=Actor.system("delivery"),
                target=bot,
                data={"partner": message.partner_id, "message": message.msg_id, "type": message.event_type,
                      "error": result.failure},
            )  # fmt: skip
            return "dead"
        BotMessage.objects.filter(pk=message.pk).update(
            attempts=attempts,
            next_attempt_at=now + timedelta(seconds=delay),
            enqueued_at=None,
            last_error=result.failure,
        )
        return "retrying"


def bot_message_replay(*, partner: Partner, actor: Any, ip: str | None = None) -> int:
    """Send the bank's dead bot messages again from a fresh retry schedule (at most 1000); return how many.

    Consent is checked again when each is sent, so a message whose person withdrew meanwhile is not.
    """
    require_member_may(actor, partner, BankAction.REPLAY)
    with transaction.atomic():
        ids = list(
            BotMessage.objects.filter(partner=partner, status=BotMessage.Status.DEAD)
            .order_by("created_at")
            .values_list("pk", flat=True)[:1000]
        )
        if not ids:
            return 0
        BotMessage.objects.filter(pk__in=ids).update(
            status=BotMessage.Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            enqueued_at=None,
            last_error="",
        )
        audit_append(action="delivery.bot_replay", actor=actor, target=partner, data={"count": len(ids)}, ip=ip)
        transaction.on_commit(lambda: publish_bot_messages(ids), robust=True)
    return len(ids)
