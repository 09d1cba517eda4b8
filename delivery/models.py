"""Partner events, their outbox deliveries and attempts, inbox messages, and partner webhook messages."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from consent.models import AccountLink
from partners.models import Partner, PartnerApiKey, WebhookEndpoint, WebhookEvent

# Queues: fraud alerts travel alone so that bulk updates never delay them.
FRAUD_QUEUE = "fraud"
DEFAULT_QUEUE = "default"
# The longest title an inbox message has (message_text shortens longer ones).
TITLE_LENGTH = 120


class EventType(models.TextChoices):
    """What a bank may post as an event (the message types a person can receive as updates)."""

    BALANCE_UPDATE = "balance_update", "Balance update"
    FRAUD_ALERT = "fraud_alert", "Fraud alert"
    RECEIPT = "receipt", "Receipt"
    SHIPPING_UPDATE = "shipping_update", "Shipping update"
    CHAT_REPLY = "chat_reply", "Chat reply"


class PartnerEventQuerySet(models.QuerySet["PartnerEvent"]):
    """Reads of partner events."""

    def of_partner(self, partner: Partner) -> PartnerEventQuerySet:
        """Return the events `partner` posted."""
        return self.filter(partner=partner)


class PartnerEvent(models.Model):
    """One event a bank posted for the person behind an account link, kept with its idempotency key.

    `request_hash` is the SHA-256 of the event as posted: the same key with the same body returns the
    first answer; the same key with another body is refused as `duplicate`. Balance updates carry a
    `supersession_key` (link and account) so that only the newest (`supersedes_at`, the payload's
    `as_of`) is worth sending.
    """

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        DELIVERED = "delivered", "Delivered"
        PARTIALLY_DELIVERED = "partially_delivered", "Partially delivered"
        FAILED = "failed", "Failed"
        BLOCKED = "blocked", "Blocked by consent"
        CANCELLED = "cancelled", "Cancelled"

    # Indexed by the (partner, idempotency_key) constraint: a column index would only slow intake.
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="events", db_index=False)
    link = models.ForeignKey(AccountLink, on_delete=models.CASCADE, related_name="partner_events")
    type = models.CharField(max_length=24, choices=EventType.choices)
    payload = models.JSONField()
    idempotency_key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    deliver_by = models.DateTimeField(null=True, blank=True)
    supersession_key = models.CharField(max_length=80, blank=True)
    supersedes_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACCEPTED)
    # The environment of the API key that posted it ("" when the platform did): its sends stay in that
    # key's world (`consent.rules`). A database default too, so processes still running the code from
    # before this column existed keep inserting events while a deploy rolls out.
    environment = models.CharField(
        max_length=8, choices=PartnerApiKey.Environment.choices, blank=True, default="", db_default=""
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = PartnerEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "idempotency_key"], name="delivery_event_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["partner", "-created_at"], name="delivery_event_partner_idx"),
            models.Index(
                fields=["supersession_key", "supersedes_at"],
                condition=~Q(supersession_key=""),
                name="delivery_event_supersede_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"event {self.pk} ({self.type}) of {self.partner_id}"

    @staticmethod
    def queue_for(event_type: str) -> str:
        """Return the Celery queue events of `event_type` travel on: fraud alerts go alone."""
        return FRAUD_QUEUE if event_type == EventType.FRAUD_ALERT else DEFAULT_QUEUE


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    """Reads of deliveries (outbox rows)."""

    def open(self) -> DeliveryQuerySet:
        """Return deliveries that may still be sent."""
        return self.filter(status__in=Delivery.OPEN_STATUSES)

    def dead(self) -> DeliveryQuerySet:
        """Return dead letters."""
        return self.filter(status=Delivery.Status.DEAD)


class Delivery(models.Model):
    """One event to one channel: the outbox row, its state, and when to try next.

    Written in the same transaction as its event; the relay enqueues it after commit, and the
    sweeper enqueues again what the broker never got (`enqueued_at` empty or stale). A batch locks
    the rows it sends (`FOR UPDATE SKIP LOCKED`) for the length of its transaction and closes them
    there, so two tasks holding the same ids never both send one, and a worker that dies mid-batch
    leaves its rows as they were, for the redelivered task to send.
    """

    class Channel(models.TextChoices):
        INBOX = "inbox", "Portal inbox"
        GATEWAY = "gateway", "Messenger gateway"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Dead letter"
        CANCELLED = "cancelled", "Cancelled (consent)"
        SUPERSEDED = "superseded", "Superseded by a newer update"
        EXPIRED = "expired", "Past its deliver-by time"

    OPEN_STATUSES = (Status.PENDING, Status.FAILED)

    # Indexed by the (event, channel) constraint; every index here costs each status change a write.
    event = models.ForeignKey(PartnerEvent, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    # The event's bank, repeated so that per-bank figures read one table (indexed by delivery_partner_idx).
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    queue = models.CharField(max_length=16, default=DEFAULT_QUEUE)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "channel"], name="delivery_one_per_event_channel"),
            models.CheckConstraint(
                condition=Q(status="delivered", delivered_at__isnull=False) | ~Q(status="delivered"),
                name="delivery_delivered_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="delivery_open_idx",
            ),
            models.Index(fields=["partner", "status", "created_at"], name="delivery_partner_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.channel}, {self.status})"

    @staticmethod
    def public_id_for(pk: int) -> str:
        """Return the id receivers dedupe on for delivery `pk`."""
        return f"dlv_{pk}"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: when, the answer's status code, how long, and what came back."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["attempted_at", "pk"]

    def __str__(self) -> str:
        return f"attempt on delivery {self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"


class InboxMessageQuerySet(models.QuerySet["InboxMessage"]):
    """Reads of inbox messages."""

    def unread(self) -> InboxMessageQuerySet:
        """Return messages not yet read."""
        return self.filter(read_at__isnull=True)


class InboxMessage(models.Model):
    """A message in a person's portal inbox; one per delivery at most, so a retry never shows twice."""

    class Type(models.TextChoices):
        BALANCE_UPDATE = EventType.BALANCE_UPDATE.value, EventType.BALANCE_UPDATE.label
        FRAUD_ALERT = EventType.FRAUD_ALERT.value, EventType.FRAUD_ALERT.label
        RECEIPT = EventType.RECEIPT.value, EventType.RECEIPT.label
        SHIPPING_UPDATE = EventType.SHIPPING_UPDATE.value, EventType.SHIPPING_UPDATE.label
        CONSENT_REMINDER = "consent_reminder", "Permissions ending soon"
        CONSENT_CHANGE = "consent_change", "A bank changed what it asks"

    user = models.ForeignKey(  # indexed by the thread index, which starts with it
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_messages", db_index=False
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="inbox_messages")
    delivery = models.OneToOneField(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbox_message"
    )
    type = models.CharField(max_length=24, choices=Type.choices)
    title = models.CharField(max_length=TITLE_LENGTH)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = InboxMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "partner", "-created_at"], name="delivery_inbox_thread_idx")]

    def __str__(self) -> str:
        return f"{self.title} for user {self.user_id}"


class WebhookMessage(models.Model):
    """One signed webhook to one of a bank's endpoints (`consent.revoked`, `delivery.failed`, ...)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Gave up"
        CANCELLED = "cancelled", "Endpoint disabled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_messages")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    event_type = models.CharField(max_length=32, choices=WebhookEvent.choices)
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
            models.Index(fields=["endpoint", "created_at"], name="delivery_webhook_endp_idx"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_webhook_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to endpoint {self.endpoint_id}"

    @property
    def msg_id(self) -> str:
        """Return the `webhook-id` header value (stable across retries, so banks can dedupe)."""
        return f"msg_{self.public_id.hex}"


class WebhookAttempt(models.Model):
    """One try at sending a webhook message."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["attempted_at", "pk"]

    def __str__(self) -> str:
        return f"attempt on webhook {self.message_id}"


class EndpointHealth(models.Model):
    """How a bank's webhook endpoint has been answering: an unbroken failure streak disables it."""

    endpoint = models.OneToOneField(WebhookEndpoint, on_delete=models.CASCADE, related_name="health")
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"health of endpoint {self.endpoint_id}"


# Conversations live in their own module; imported here so that Django registers them with this app.
from .chat.models import BotAttempt, BotMessage, ChatMessage, Conversation, FraudAnswer  # noqa: E402

__all__ = [
    "BotAttempt",
    "BotMessage",
    "ChatMessage",
    "Conversation",
    "Delivery",
    "DeliveryAttempt",
    "EndpointHealth",
    "EventType",
    "FraudAnswer",
    "InboxMessage",
    "PartnerEvent",
    "WebhookAttempt",
    "WebhookMessage",
]
