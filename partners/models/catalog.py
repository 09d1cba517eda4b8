"""A bank's catalog: the platform's purposes, data categories and message types; scopes, versions, capabilities."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from portal.validators import validate_no_bidi_controls

from .partner import Partner

MAX_GRANT_DAYS = 365

scope_code_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{1,40}\.(read|push|write)$",
    "Use a code like 'balances.read': lowercase words and underscores, a dot, then read, push or write.",
    code="invalid_code",
)
capability_code_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{1,48}$",
    "Use a code like 'check_balance': lowercase letters, digits and underscores.",
    code="invalid_code",
)


class Purpose(models.TextChoices):
    """The platform's closed list of purposes. Advertising and marketing do not exist here."""

    ACCOUNT_UPDATES = "account_updates", "Account updates"
    FRAUD_ALERTS = "fraud_alerts", "Fraud alerts"
    RECEIPTS_SHIPPING = "receipts_shipping", "Receipts and shipping"
    CUSTOMER_SERVICE = "customer_service", "Customer-service chat"


class DataCategory(models.TextChoices):
    """The platform's taxonomy of bank data."""

    BALANCES = "balances", "Balances"
    TRANSACTIONS = "transactions", "Transactions"
    CARD_TRANSACTIONS = "card_transactions", "Card transactions"
    RECEIPTS = "receipts", "Receipts"
    SHIPPING = "shipping", "Shipping"
    FRAUD_SIGNALS = "fraud_signals", "Fraud signals"
    CONTACT_DETAILS = "contact_details", "Contact details"


class MessageType(models.TextChoices):
    """What a bank may send to a person's chat."""

    BALANCE_UPDATE = "balance_update", "Balance update"
    FRAUD_ALERT = "fraud_alert", "Fraud alert"
    RECEIPT = "receipt", "Receipt"
    SHIPPING_UPDATE = "shipping_update", "Shipping update"
    CHAT_REPLY = "chat_reply", "Chat reply"


class DataScopeQuerySet(models.QuerySet["DataScope"]):
    """Reads of scopes."""

    def visible_to_users(self) -> DataScopeQuerySet:
        """Return scopes with a published version people may see (high ones need approval)."""
        return self.filter(published_version__isnull=False, retired_at__isnull=True)


class DataScope(models.Model):
    """A kind of data a bank offers to share, identified by its code (`balances.read`).

    Its wording lives in numbered `DataScopeVersion`s: the bank edits a draft, publishing makes it
    the version people see, and grants stay pinned to the version their user saw.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="scopes")
    code = models.CharField(max_length=48, validators=[scope_code_validator])
    published_version = models.ForeignKey(
        "DataScopeVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = DataScopeQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["partner", "code"], name="partners_scope_code_unique")]

    def __str__(self) -> str:
        return f"{self.partner.slug}:{self.code}"


class DataScopeVersion(models.Model):
    """One wording of a scope: what people read, what data it covers, for which purposes, how long."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_REVIEW = "pending_review", "Waiting for compliance approval"
        PUBLISHED = "published", "Published"
        SUPERSEDED = "superseded", "Replaced by a newer version"
        RETIRED = "retired", "Retired"

    class Sensitivity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    scope = models.ForeignKey(DataScope, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    name = models.CharField(max_length=120, validators=[validate_no_bidi_controls])
    description = models.TextField(max_length=2000)
    category = models.CharField(max_length=32, choices=DataCategory.choices)
    fields = models.JSONField(default=list)
    purposes = models.JSONField(default=list)
    sensitivity = models.CharField(max_length=8, choices=Sensitivity.choices, default=Sensitivity.LOW)
    retention_days = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(3650)])
    max_duration_days = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_GRANT_DAYS)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # What publishing this version took away from the one before (fields and purposes), if anything.
    narrowed = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["scope", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "number"], name="partners_scope_version_unique"),
            models.UniqueConstraint(
                fields=["scope"], condition=Q(status="draft") | Q(status="pending_review"),
                name="partners_one_open_draft_per_scope",
            ),
            models.CheckConstraint(
                condition=Q(max_duration_days__gte=1, max_duration_days__lte=MAX_GRANT_DAYS),
                name="partners_scope_max_duration_within_limit",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.scope} v{self.number}"

    @property
    def field_names(self) -> set[str]:
        """Return the names of the fields this version covers."""
        return {str(item["name"]) for item in self.fields}

    def content(self) -> dict[str, Any]:
        """Return the wording as a dict, for copying into a new draft and for diffs."""
        return {
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "fields": self.fields,
            "purposes": self.purposes,
            "sensitivity": self.sensitivity,
            "retention_days": self.retention_days,
            "max_duration_days": self.max_duration_days,
        }


class ChatbotCapability(models.Model):
    """A chatbot feature of a bank: what people can ask, the scopes it needs, what it sends."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="capabilities")
    code = models.CharField(max_length=50, validators=[capability_code_validator])
    name = models.CharField(max_length=120, validators=[validate_no_bidi_controls])
    description = models.TextField(max_length=2000)
    sample_utterances = models.JSONField(default=list, blank=True)
    scopes = models.ManyToManyField(DataScope, related_name="capabilities", blank=True)
    message_types = models.JSONField(default=list)
    webhook_url = models.URLField(blank=True)
    # Signs the `chat.message` and `fraud_alert.answered` webhooks posted to `webhook_url` (Standard Webhooks).
    signing_secret = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "chatbot capabilities"
        constraints = [
            models.UniqueConstraint(fields=["partner", "code"], name="partners_capability_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner.slug}:{self.code}"
