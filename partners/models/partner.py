"""Partner banks, their lifecycle, and the people who act for them (memberships, invitations)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField
from guardian.models import UserObjectPermissionBase

from portal.validators import validate_no_bidi_controls


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
            ("view_trail", "Read the bank's slice of the audit trail"),
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
