"""Reads of conversations, each filtered to the person who asks: their banks, messages, suggestions, offers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from consent.models import AccountLink
from partners.models import ChatbotCapability, DataScope, DataScopeVersion, Partner, Purpose
from portal.models import User

from .models import BotMessage, ChatMessage, Conversation

# How many of the newest messages the conversation page shows.
PAGE_MESSAGES = 50


def conversation_partner_for_user(*, user: User, slug: str) -> Partner | None:
    """Return bank `slug` if the person has an account linked there, or a conversation with it; else None."""
    linked = AccountLink.objects.active().filter(partner=OuterRef("pk"), user=user)
    talked = Conversation.objects.filter(partner=OuterRef("pk"), user=user)
    return Partner.objects.filter(Q(Exists(linked)) | Q(Exists(talked)), slug=slug).first()


def conversation_for_user(*, user: User, partner: Partner) -> Conversation | None:
    """Return the person's conversation with `partner`, or None if they never wrote."""
    return Conversation.objects.filter(user=user, partner=partner).first()


def conversation_messages(*, conversation: Conversation | None, after_id: int = 0) -> list[ChatMessage]:
    """Return the conversation's newest messages (after `after_id`), oldest first, with their send state."""
    if conversation is None:
        return []
    rows: QuerySet[ChatMessage] = ChatMessage.objects.filter(conversation=conversation, pk__gt=after_id).select_related(
        "bot_message", "fraud_answer"
    )
    return list(reversed(rows.order_by("-created_at", "-pk")[:PAGE_MESSAGES]))


def conversation_send_states(*, conversation: Conversation | None) -> dict[int, tuple[str, str]]:
    """Return how the person's newest messages stand with the bot, by message id (what the live page updates)."""
    if conversation is None:
        return {}
    rows = ChatMessage.objects.filter(conversation=conversation, sender=ChatMessage.Sender.PERSON).select_related(
        "bot_message"
    )
    return {m.pk: state for m in rows.order_by("-pk")[:10] if (state := m.send_state) is not None}


@dataclass(frozen=True)
class Suggestion:
    """Something the person may tap to ask: a published capability's sample utterance."""

    capability: str
    text: str


def chat_suggestions(*, partner: Partner) -> list[Suggestion]:
    """Return the sample utterances of the bank's published capabilities that have a bot (one query)."""
    capabilities = ChatbotCapability.objects.filter(partner=partner, status=ChatbotCapability.Status.PUBLISHED).exclude(
        webhook_url=""
    )
    return [
        Suggestion(code, text)
        for code, utterances in capabilities.order_by("code").values_list("code", "sample_utterances")
        for text in (utterances or [])[:3]
    ][:8]


@dataclass(frozen=True)
class ChatOffer:
    """What the person may grant so the bank's chatbot can answer: a scope's published wording, on one link."""

    link: AccountLink
    version: DataScopeVersion


def chat_consent_offers(*, user: User, partner: Partner) -> list[ChatOffer]:
    """Return the bank's published scopes offered for customer service, on the person's first linked account."""
    link = AccountLink.objects.active().filter(user=user, partner=partner).order_by("linked_at", "pk").first()
    if link is None:
        return []
    scopes = DataScope.objects.visible_to_users().filter(partner=partner).select_related("published_version")
    versions = [scope.published_version for scope in scopes.order_by("code") if scope.published_version is not None]
    # Tested in Python: SQLite (the embedded default) cannot ask whether a JSON list holds a value.
    return [ChatOffer(link, version) for version in versions if Purpose.CUSTOMER_SERVICE in (version.purposes or [])]


def bot_dead_letters_for_partner(*, partner: Partner, limit: int = 20) -> list[BotMessage]:
    """Return the bank's newest bot messages that failed every retry (what its deliveries page lists)."""
    rows = BotMessage.objects.filter(partner=partner, status=BotMessage.Status.DEAD).select_related("capability")
    return list(rows.order_by("-created_at", "-pk")[:limit])
