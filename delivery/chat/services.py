"""Writes of a conversation: the person writes to the bank's bot, answers a fraud alert, ends the conversation.

Each checks consent through the consent rule, stores the person's message with its outbox row (a
`BotMessage`) and audit entry in one transaction, and publishes the row after commit.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.audit import audit_append
from consent.models import AccountLink
from consent.rules import consent_check_many
from partners.models import ChatbotCapability, MessageType, Partner
from portal.errors import ApplicationError, Conflict, NotFound
from portal.models import User

from ..models import InboxMessage
from .models import TEXT_LENGTH, BotMessage, ChatMessage, Conversation, FraudAnswer
from .sending import publish_bot_messages


class ConsentNeeded(ApplicationError):
    """The person has not allowed the bank's chatbot to answer them (customer service)."""

    status = 403
    code = "consent_required"


def chat_links_allowed(*, user: User, partner: Partner, message_type: str = MessageType.CHAT_REPLY) -> list[int]:
    """Return the person's links at `partner` on which the bank may send `message_type` (the consent rule)."""
    links = list(AccountLink.objects.active().filter(user=user, partner=partner).values_list("pk", flat=True))
    allowed = consent_check_many(partner_id=partner.pk, pairs=[(link, message_type) for link in links])
    return [link for link in links if (link, message_type) in allowed]


def chat_bot_of(partner: Partner, *, code: str = "") -> ChatbotCapability | None:
    """Return the bank's published capability with a bot address (`code`'s, else the first), or None."""
    bots = ChatbotCapability.objects.filter(partner=partner, status=ChatbotCapability.Status.PUBLISHED).exclude(
        webhook_url=""
    )
    return (bots.filter(code=code).first() if code else None) or bots.order_by("code").first()


def _no_bot(partner: Partner) -> ApplicationError:
    return ApplicationError(
        f"{partner.legal_name} has no chatbot to answer you yet. Nothing was sent.", code="bot_unavailable", status=409
    )


def _message_body(message: ChatMessage) -> dict[str, Any]:
    return {"id": message.pk, "text": message.text, "sent_at": message.created_at.isoformat()}


def _queue(*, bot: ChatbotCapability, message: ChatMessage, event_type: str, data: dict[str, Any]) -> BotMessage:
    """Store the outbox row of `message` to `bot`; publish it after commit."""
    row = BotMessage.objects.create(
        partner_id=bot.partner_id,
        capability=bot,
        chat_message=message,
        event_type=event_type,
        payload={"type": event_type, "timestamp": timezone.now().isoformat(), "data": data},
    )
    transaction.on_commit(lambda: publish_bot_messages([row.pk]), robust=True)
    return row


def chat_send(
    *, user: User, partner: Partner, text: str, capability_code: str = "", ip: str | None = None
) -> ChatMessage:
    """Send what the person wrote (or the suggestion they tapped) to the bank's bot, as a `chat.message`."""
    text = text.strip()
    if not text:
        raise ApplicationError("Write a message first.", code="invalid", fields={"text": ["Write a message."]})
    if len(text) > TEXT_LENGTH:
        raise ApplicationError(
            f"A message may be at most {TEXT_LENGTH} characters. Shorten it and send it again.",
            code="invalid",
            fields={"text": [f"At most {TEXT_LENGTH} characters."]},
        )
    links = chat_links_allowed(user=user, partner=partner)
    if not links:
        raise ConsentNeeded(f"Allow {partner.legal_name}'s chatbot to answer you first. Nothing was sent.")
    bot = chat_bot_of(partner, code=capability_code)
    if bot is None:
        raise _no_bot(partner)
    with transaction.atomic():
        conversation, _ = Conversation.objects.get_or_create(user=user, partner=partner)
        if conversation.is_ended:  # writing again opens it again
            Conversation.objects.filter(pk=conversation.pk).update(ended_at=None)
        message = ChatMessage.objects.create(
            conversation=conversation, sender=ChatMessage.Sender.PERSON, text=text, link_id=links[0]
        )
        data = {
            "message": _message_body(message),
            "link": links[0],
            "conversation": conversation.pk,
            "capability": bot.code,
        }
        _queue(bot=bot, message=message, event_type=BotMessage.Type.CHAT_MESSAGE, data=data)
        audit_append(
            action="chat.message_sent",
            actor=user,
            target=conversation,
            data={"partner": partner.pk, "message": message.pk, "capability": bot.code, "length": len(text)},
            ip=ip,
        )
    return message


def conversation_end(*, user: User, partner: Partner, ip: str | None = None) -> Conversation | None:
    """End the person's conversation with `partner`: the bot's replies to it are refused until they write again."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(user=user, partner=partner).first()
        if conversation is None or conversation.is_ended:
            return conversation
        conversation.ended_at = timezone.now()
        conversation.save(update_fields=["ended_at"])
        audit_append(
            action="chat.conversation_ended", actor=user, target=conversation, data={"partner": partner.pk}, ip=ip
        )
    return conversation


def fraud_alert_answer(*, user: User, inbox_message_id: int, answer: str, ip: str | None = None) -> FraudAnswer:
    """Send the person's answer to a fraud alert to the bank's bot (`fraud_alert.answered`), at most once."""
    alert = (
        InboxMessage.objects.select_related("partner", "delivery__event")
        .filter(pk=inbox_message_id, user=user, type=InboxMessage.Type.FRAUD_ALERT)
        .first()
    )
    if alert is None or alert.delivery is None:
        raise NotFound("There is no such fraud alert in your inbox.")
    if answer not in FraudAnswer.Answer.values:
        raise ApplicationError("Choose “This was me” or “This wasn't me”.", code="invalid")
    event = alert.delivery.event
    if hasattr(alert, "fraud_answer"):
        raise _answered()
    if (event.link_id, MessageType.FRAUD_ALERT) not in consent_check_many(
        partner_id=alert.partner_id, pairs=[(event.link_id, MessageType.FRAUD_ALERT)]
    ):
        raise ConsentNeeded(
            f"You no longer allow {alert.partner.legal_name} to send you fraud alerts. Nothing was sent."
        )
    bot = chat_bot_of(alert.partner)
    if bot is None:
        raise _no_bot(alert.partner)
    label = FraudAnswer.Answer(answer).label
    payload = event.payload
    try:
        with transaction.atomic():
            conversation, _ = Conversation.objects.get_or_create(user=user, partner=alert.partner)
            if conversation.is_ended:
                Conversation.objects.filter(pk=conversation.pk).update(ended_at=None)
            message = ChatMessage.objects.create(
                conversation=conversation,
                sender=ChatMessage.Sender.PERSON,
                text=f"{label}: {payload.get('amount')} {payload.get('currency')} at {payload.get('merchant')}",
                link_id=event.link_id,
            )
            row = FraudAnswer.objects.create(inbox_message=alert, answer=answer, chat_message=message)
            data = {
                "message": _message_body(message),
                "answer": answer,
                "event": event.pk,
                "event_id": event.idempotency_key,
                "link": event.link_id,
                "conversation": conversation.pk,
            }
            _queue(bot=bot, message=message, event_type=BotMessage.Type.FRAUD_ALERT_ANSWERED, data=data)
            audit_append(
                action="chat.fraud_alert_answered",
                actor=user,
                target=alert,
                data={"partner": alert.partner_id, "event": event.pk, "answer": answer},
                ip=ip,
            )
    except IntegrityError as exc:  # a second tap, or another tab, answered first
        raise _answered() from exc
    return row


def _answered() -> Conflict:
    return Conflict("You already answered this alert, so nothing was sent twice.", code="already_answered")
