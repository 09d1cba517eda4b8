"""Partner banks, the people who work for them, and the API keys they call the platform with."""

from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import UserObjectPermissionBase


class PartnerQuerySet(models.QuerySet["Partner"]):
    """Reads of partner banks."""

    def reachable_by_users(self) -> PartnerQuerySet:
        """Return the banks whose catalog real users may see (live ones only)."""
        return self.filter(status=Partner.Status.LIVE)


class Partner(models.Model):
    """A bank that offers its customers real-time updates and a chatbot through the platform.

    It moves `applied` → `in_review` → `sandbox` → `live`; `suspended` stops its API writes and
    deliveries at once, and `withdrawn` ends the partnership.
    """

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        IN_REVIEW = "in_review", "In review"
        SANDBOX = "sandbox", "Sandbox"
        LIVE = "live", "Live"
        SUSPENDED = "suspended", "Suspended"
        WITHDRAWN = "withdrawn", "Withdrawn"

    slug = models.SlugField(max_length=60, unique=True)
    legal_name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPLIED)
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


class PartnerApiKeyQuerySet(models.QuerySet["PartnerApiKey"]):
    """Reads of API keys."""

    def active(self) -> PartnerApiKeyQuerySet:
        """Return keys that have not been revoked."""
        return self.filter(revoked_at__isnull=True)


class PartnerApiKey(models.Model):
    """A secret a bank's servers present as `Authorization: Bearer <key>`.

    Only a SHA-256 digest is stored; the key is shown once when it is made. Keys read
    `pbk_sandbox_...` or `pbk_live_...` so that nobody mistakes one for the other.
    """

    class Environment(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox"
        LIVE = "live", "Live"

    PREFIX = "pbk"
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

    @staticmethod
    def digest_of(raw_key: str) -> str:
        """Return the stored digest of a raw key."""
        return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()

    def matches(self, raw_key: str) -> bool:
        """Return True when `raw_key` is this key, compared in constant time."""
        return hmac.compare_digest(self.digest, self.digest_of(raw_key))
