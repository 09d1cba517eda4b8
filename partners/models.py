"""Partner banks, their people, catalog (scopes and capabilities), usage terms, keys and webhooks."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField
from guardian.models import UserObjectPermissionBase

from portal.validators import validate_no_bidi_controls

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


class PartnerQuerySet(models.QuerySet["Partner"]):
    """Reads of partner banks."""

    def reachable_by_users(self) -> PartnerQuerySet:
        """Return the banks whose catalog real users may see (live ones only)."""
        return self.filter(status=Partner.Status.LIVE)


class Partner(models.Model):
    """A bank that offers its customers real-time updates and a chatbot through the platform.

    It moves `applied` → `in_review` → `sandbox` → `live`; `suspended` stops its API writes and
    deliveries at once, and `withdrawn` ends the partnership. A sandbox bank reaches only its own
    members (its test users); only a live bank reaches the public.
    """

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        IN_REVIEW = "in_review", "In review"
        SANDBOX = "sandbox", "Sandbox"
        LIVE = "live", "Live"
        SUSPENDED = "suspended", "Suspended"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class IdentifierType(models.TextChoices):
        LEI = "lei", "Legal Entity Identifier (LEI)"
        REGULATOR = "regulator", "Regulator's reference number"

    # Which statuses staff may move a bank to from each status.
    TRANSITIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        Status.APPLIED: (Status.IN_REVIEW, Status.WITHDRAWN),
        Status.IN_REVIEW: (Status.SANDBOX, Status.WITHDRAWN),
        Status.SANDBOX: (Status.LIVE, Status.SUSPENDED, Status.WITHDRAWN),
        Status.LIVE: (Status.SUSPENDED, Status.WITHDRAWN),
        Status.SUSPENDED: (Status.SANDBOX, Status.LIVE, Status.WITHDRAWN),
        Status.WITHDRAWN: (),
    }

    slug = models.SlugField(max_length=60, unique=True)
    legal_name = models.CharField(max_length=200, validators=[validate_no_bidi_controls])
    country = CountryField(blank=True)
    identifier_type = models.CharField(max_length=16, choices=IdentifierType.choices, blank=True)
    identifier = models.CharField(max_length=64, blank=True)
    website = models.URLField(blank=True)
    security_contact = models.EmailField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPLIED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PartnerQuerySet.as_manager()

    class Meta:
        ordering = ["legal_name"]
        permissions = [
            ("manage_partner", "Manage the bank's catalog, terms and keys"),
            ("manage_members", "Invite and remove the bank's members"),
        ]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def may_call_api(self) -> bool:
        """Return True when the bank's API keys are honoured at all."""
        return self.status in (self.Status.SANDBOX, self.Status.LIVE)

    def may_move_to(self, status: str) -> bool:
        """Return True when staff may move the bank from its status to `status`."""
        return status in self.TRANSITIONS.get(self.status, ())


class PartnerUserObjectPermission(UserObjectPermissionBase):
    """Guardian's per-bank permissions, with a real foreign key for fast, safe joins."""

    content_object = models.ForeignKey(Partner, on_delete=models.CASCADE)


class PartnerMembership(models.Model):
    """A person's role at one bank; guardian permissions on that bank follow it."""

    class Role(models.TextChoices):
        MANAGER = "manager", "Partnership manager"
        DEVELOPER = "developer", "Developer"
        COMPLIANCE = "compliance", "Compliance contact"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "user"], name="partners_one_membership_per_bank"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.partner}"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    """Reads of invitations."""

    def pending(self) -> InvitationQuerySet:
        """Return invitations that can still be accepted."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An invitation to join a bank with a role, sent by email; single use, expiring, stored hashed.

    The first manager of a new bank gets one too: accepting it is how their email is verified.
    """

    VALID_FOR = timedelta(days=7)

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=PartnerMembership.Role.choices)
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()} at {self.partner}"

    @staticmethod
    def digest_of(token: str) -> str:
        """Return the stored digest of an invitation token."""
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    @property
    def is_expired(self) -> bool:
        """Return True once the invitation can no longer be accepted because of its age."""
        return timezone.now() >= self.expires_at


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


class UsageTermsQuerySet(models.QuerySet["UsageTerms"]):
    """Reads of usage terms."""

    def current(self) -> UsageTerms | None:
        """Return the newest published terms, or None before any were published."""
        return self.order_by("-version").first()


class UsageTerms(models.Model):
    """A published, immutable version of the platform's usage terms (Markdown)."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField()
    body_sha256 = models.CharField(max_length=64)
    requires_reacceptance = models.BooleanField(default=True)
    grace_days = models.PositiveIntegerField(default=30, validators=[MaxValueValidator(365)])
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = UsageTermsQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name = "usage terms"
        verbose_name_plural = "usage terms"

    def __str__(self) -> str:
        return f"v{self.version}: {self.title}"

    @staticmethod
    def digest_of(body: str) -> str:
        """Return the SHA-256 of the exact text."""
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    @property
    def grace_ends_at(self) -> Any:
        """Return when banks that have not accepted this version lose API access."""
        return self.published_at + timedelta(days=self.grace_days)


class TermsAcceptance(models.Model):
    """A manager accepted one version of the terms for their bank: who, when, from where, which text."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="terms_acceptances")
    terms = models.ForeignKey(UsageTerms, on_delete=models.PROTECT, related_name="acceptances")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    text_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [models.UniqueConstraint(fields=["partner", "terms"], name="partners_accept_terms_once")]

    def __str__(self) -> str:
        return f"{self.partner} accepted {self.terms}"


class PartnerApiKeyQuerySet(models.QuerySet["PartnerApiKey"]):
    """Reads of API keys."""

    def active(self) -> PartnerApiKeyQuerySet:
        """Return keys that have not been revoked and have not run out after a rotation."""
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class PartnerApiKey(models.Model):
    """A secret a bank's servers present as `Authorization: Bearer <key>`.

    Only a SHA-256 digest is stored; the key is shown once when it is made. Keys read
    `pbk_sandbox_...` or `pbk_live_...` so that nobody mistakes one for the other.
    """

    class Environment(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox"
        LIVE = "live", "Live"

    PREFIX = "pbk"
    ROTATION_OVERLAP = timedelta(hours=24)
    is_api_key: ClassVar[bool] = True  # lets the audit trail tell a key from a person

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    environment = models.CharField(max_length=8, choices=Environment.choices)
    lookup = models.CharField(max_length=16, unique=True, help_text="Public part that finds the key.")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set when the key was rotated.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PartnerApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=Q(environment__in=["sandbox", "live"]), name="partners_apikey_environment_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner.slug}:{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        """Return the key as it may be shown again: its public part only."""
        return f"{self.PREFIX}_{self.environment}_{self.lookup}_…"

    @property
    def is_active(self) -> bool:
        """Return True while requests with this key are honoured."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @staticmethod
    def digest_of(raw_key: str) -> str:
        """Return the stored digest of a raw key."""
        return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()

    def matches(self, raw_key: str) -> bool:
        """Return True when `raw_key` is this key, compared in constant time."""
        return hmac.compare_digest(self.digest, self.digest_of(raw_key))


class WebhookEvent(models.TextChoices):
    """What the platform tells a bank's webhook endpoints about."""

    CONSENT_GRANTED = "consent.granted", "A person granted a scope"
    CONSENT_REVOKED = "consent.revoked", "A grant was revoked"
    CONSENT_EXPIRED = "consent.expired", "A grant expired"
    TERMS_UPDATED = "terms.updated", "New usage terms were published"
    DELIVERY_FAILED = "delivery.failed", "A delivery was dead-lettered"


class WebhookEndpoint(models.Model):
    """Where the platform sends a bank signed webhooks (Standard Webhooks), and with which secret.

    The secret is needed to sign, so it is kept; it is shown to the bank once. After a rotation the
    previous secret also signs until `previous_secret_expires_at`, so the bank can switch over.
    """

    ROTATION_OVERLAP = timedelta(hours=24)

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.partner.slug} → {self.url}"

    def signing_secrets(self) -> list[str]:
        """Return every secret that signs right now: the current one, then one in its overlap window."""
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > timezone.now()
        ):
            secrets.append(self.previous_secret)
        return secrets
