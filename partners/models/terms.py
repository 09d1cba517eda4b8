"""The platform's usage terms, version by version, and each bank's acceptance of them."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from .partner import Partner


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
