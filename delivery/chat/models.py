"""A person's conversation with a bank's chatbot, its messages, answers to fraud alerts, and the bot's outbox."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from consent.models import AccountLink
from partners.models import ChatbotCapability, Partner

# The longest text a person or a bot may write in one message.
TEXT_LENGTH = 2000


class Conversation(models.Model):
    """One conversation per person and bank, as in a messenger; the person may end it (and start again)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="conversations")
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "partner"], name="delivery_one_conversation_per_bank")]

    def __str__(self) -> str:
        return f"conversation of user {self.user_id} with {self.partner_id}"

    @property
    def is_ended(self) -> bool:
        """Return True when the person ended the conversation."""
        return self.ended_at is not None


class ChatMessage(models.Model):
    """One message of a conversation: from the person, or from the bank's bot (a `chat_reply` event)."""

    class Sender(models.TextChoices):
        PERSON = "person", "You"
        BANK = "bank", "The bank"

    conversation = models.ForeignKey(  # indexed by delivery_chat_conv_idx, which starts with it
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    sender = models.CharField(max_length=8, choices=Sender.choices)
    text = models.TextField(max_length=TEXT_LENGTH)
    suggestions = models.JSONField(default=list, blank=True)
    card = models.JSONField(null=True, blank=True)  # validated by delivery.chat.cards.Card
    in_reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    # The link whose grant allowed it: the address the bank replies to (and the bank's reply's link).
    link = models.ForeignKey(AccountLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event = models.OneToOneField(
        "delivery.PartnerEvent", null=True, blank=True, on_delete=models.CASCADE, related_name="chat_message"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="delivery_chat_conv_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(sender="person", event__isnull=True) | Q(sender="bank", event__isnull=False),
                name="delivery_chat_bank_message_has_event",
            )
        ]

    def __str__(self) -> str:
        return f"chat message {self.pk} ({self.sender}) in {self.conversation_id}"

    @property
    def send_state(self) -> tuple[str, str] | None:
        """Return how sending the person's message to the bot stands, as (status, words), or None."""
        row = getattr(self, "bot_message", None) if self.sender == self.Sender.PERSON else None
        return (row.status, SEND_STATE_WORDS[row.status]) if row is not None else None

    @property
    def chart_max(self) -> str:
        """Return the largest value of the message's chart card (the scale of its bars), or "0"."""
        points = (self.card or {}).get("points") or []
        return str(max((abs(float(point["value"])) for point in points), default=0.0))


class FraudAnswer(models.Model):
    """A person's answer to one fraud alert: at most one per alert (the unique inbox message says so)."""

    class Answer(models.TextChoices):
        WAS_ME = "was_me", "This was me"
        NOT_ME = "not_me", "This wasn't me"

    inbox_message = models.OneToOneField(
        "delivery.InboxMessage", on_delete=models.CASCADE, related_name="fraud_answer"
    )  # the one-to-one is the at-most-once constraint
    answer = models.CharField(max_length=8, choices=Answer.choices)
    chat_message = models.OneToOneField(ChatMessage, on_delete=models.CASCADE, related_name="fraud_answer")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.answer} to inbox message {self.inbox_message_id}"


# What the person reads beside their message about its send to the bot, by BotMessage status.
SEND_STATE_WORDS = {
    "pending": "Sending…",
    "delivered": "Delivered",
    "dead": "Not delivered: the chatbot did not answer",
    "cancelled": "Not sent",
}


class BotMessage(models.Model):
    """The outbox row of one signed webhook to a bank's bot (`chat.message`, `fraud_alert.answered`).

    Written in the person's transaction, enqueued after commit, swept when the broker never got it;
    the send locks the row (`FOR UPDATE SKIP LOCKED`) and checks consent again before it posts.
    """

    class Type(models.TextChoices):
        CHAT_MESSAGE = "chat.message", "A person wrote to the bot"
        FRAUD_ALERT_ANSWERED = "fraud_alert.answered", "A person answered a fraud alert"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Gave up"
        CANCELLED = "cancelled", "Not sent (consent or bot gone)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="bot_messages")
    capability = models.ForeignKey(ChatbotCapability, on_delete=models.CASCADE, related_name="bot_messages")
    chat_message = models.OneToOneField(ChatMessage, on_delete=models.CASCADE, related_name="bot_message")
    event_type = models.CharField(max_length=32, choices=Type.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_bot_open_idx"),
            models.Index(fields=["partner", "status", "created_at"], name="delivery_bot_partner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.capability_id}"

    @property
    def msg_id(self) -> str:
        """Return the `webhook-id` header value (stable across retries, so bots can dedupe)."""
        return f"msg_{self.public_id.hex}"


class BotAttempt(models.Model):
    """One try at sending a bot message."""

    message = models.ForeignKey(BotMessage, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["attempted_at", "pk"]

    def __str__(self) -> str:
        return f"attempt on bot message {self.message_id}"
