"""How a bank's servers and the platform reach each other: API keys, webhook events and endpoints."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .partner import Partner


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
    # Sent to every active endpoint of each bank the person had linked, subscribed or not: the bank must erase too.
    PERSON_ERASED = "person.erased", "A person's data was erased"


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
