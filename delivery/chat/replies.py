"""A bot's `chat_reply` events at intake: each answers a message the person wrote to this bank, then shows.

Intake checks consent (customer service, like every event) and calls these two steps in its
transaction: `chat_replies_refused` before it stores anything, `chat_replies_store` once the events
have their ids. A reply has no outbox rows: it is shown in the conversation as it commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from consent.models import AccountLink

from ..models import EventType
from ..payloads import ValidEvent
from .models import ChatMessage

REPLY_NOT_FOUND = (
    "reply_not_found",
    "`in_reply_to` names no message that the person behind this link wrote to your bank. "
    "Answer with the `message.id` of the webhook you received, and the same person's link.",
)
CONVERSATION_ENDED = (
    "conversation_ended",
    "The person ended this conversation, so the reply was not shown. Wait until they write again.",
)
# HTTP statuses of a single refused reply (intake's IntakeItem.http_status reads them).
REFUSAL_STATUSES = {REPLY_NOT_FOUND[0]: 404, CONVERSATION_ENDED[0]: 409}


def chat_replies_refused(*, partner_id: int, replies: Iterable[tuple[str, ValidEvent]]) -> dict[str, tuple[str, str]]:
    """Return, by idempotency key, the replies that may not show: (code, message). Two queries at most.

    A reply must answer a message the person wrote (never a bank's) in their conversation with this
    bank, through a link of the same person at the same bank, while the conversation is open.
    """
    replies = [(key, valid) for key, valid in replies if valid.type == EventType.CHAT_REPLY]
    if not replies:
        return {}
    asked = {int(valid.payload["in_reply_to"]) for _key, valid in replies}
    originals = {
        row["pk"]: row
        for row in ChatMessage.objects.filter(
            pk__in=asked, sender=ChatMessage.Sender.PERSON, conversation__partner_id=partner_id
        ).values("pk", "conversation__user_id", "conversation__ended_at")
    }
    link_users = dict(
        AccountLink.objects.filter(pk__in={valid.link_id for _key, valid in replies}, partner_id=partner_id)
        .values_list("pk", "user_id")
    )  # fmt: skip
    refused: dict[str, tuple[str, str]] = {}
    for key, valid in replies:
        original = originals.get(int(valid.payload["in_reply_to"]))
        if original is None or link_users.get(valid.link_id) != original["conversation__user_id"]:
            refused[key] = REPLY_NOT_FOUND
        elif original["conversation__ended_at"] is not None:
            refused[key] = CONVERSATION_ENDED
    return refused


def chat_replies_store(*, rows: Iterable[tuple[int, dict[str, Any]]]) -> list[ChatMessage]:
    """Add each stored `chat_reply` event (its id, its row) to its conversation as the bank's message."""
    wanted = [(pk, row) for pk, row in rows if row["type"] == EventType.CHAT_REPLY]
    if not wanted:
        return []
    conversations = dict(
        ChatMessage.objects.filter(pk__in={row["payload"]["in_reply_to"] for _pk, row in wanted}).values_list(
            "pk", "conversation_id"
        )
    )
    messages = [
        ChatMessage(
            conversation_id=conversations[row["payload"]["in_reply_to"]],
            sender=ChatMessage.Sender.BANK,
            text=row["payload"]["text"],
            suggestions=row["payload"].get("suggestions") or [],
            card={k: v for k, v in row["payload"]["card"].items() if v is not None}
            if row["payload"].get("card")
            else None,
            in_reply_to_id=row["payload"]["in_reply_to"],
            link_id=row["link_id"],
            event_id=pk,
            created_at=row["created_at"],
        )
        for pk, row in wanted
    ]
    return ChatMessage.objects.bulk_create(messages)
