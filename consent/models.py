"""Account links, consent grants, their immutable event history, and the linking flow's one-time secrets."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from partners.models import DataScope, DataScopeVersion, Partner, Purpose, UsageTerms

from .purposes import MESSAGE_TYPE_BITS, message_types_in

# Every bit a grant's message-type mask may hold.
ALL_MESSAGE_TYPES_MASK = sum(MESSAGE_TYPE_BITS.values())


def sha256_hex(value: str) -> str:
    """Return the SHA-256 hex digest of a text (how one-time secrets are stored)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class AccountLinkQuerySet(models.QuerySet["AccountLink"]):
    """Reads of account links."""

    def active(self) -> AccountLinkQuerySet:
        """Return links that have not been unlinked."""
        return self.filter(status=AccountLink.Status.ACTIVE)


class AccountLink(models.Model):
    """A person's account at a bank, connected through the bank's authorisation page.

    The bank hands back an opaque `account_ref` and a masked number to show; the portal never sees
    the real account number. A link's id is the address banks use for events. Unlinking revokes
    every grant on the link.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Linked"
        UNLINKED = "unlinked", "Unlinked"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_links")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="account_links")
    account_ref = models.CharField(max_length=128, help_text="The bank's opaque reference for the account.")
    account_mask = models.CharField(max_length=32, help_text="What people see, like '•••• 1234'.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    linked_at = models.DateTimeField(default=timezone.now)
    unlinked_at = models.DateTimeField(null=True, blank=True)

    objects = AccountLinkQuerySet.as_manager()

    class Meta:
        ordering = ["linked_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "partner", "account_ref"],
                condition=Q(status="active"),
                name="consent_one_active_link_per_account",
            ),
            models.CheckConstraint(
                condition=(Q(status="active") & Q(unlinked_at__isnull=True))
                | (Q(status="unlinked") & Q(unlinked_at__isnull=False)),
                name="consent_link_unlinked_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.account_mask} of user {self.user_id}"

    @property
    def is_active(self) -> bool:
        """Return True while the link has not been unlinked."""
        return self.status == self.Status.ACTIVE


class ConsentGrantQuerySet(models.QuerySet["ConsentGrant"]):
    """Reads of consent grants."""

    def active(self, at: datetime | None = None) -> ConsentGrantQuerySet:
        """Return grants in force at `at` (default now): active and not yet past their expiry."""
        return self.filter(status=ConsentGrant.Status.ACTIVE, expires_at__gt=at or timezone.now())

    def due_to_expire(self, at: datetime | None = None) -> ConsentGrantQuerySet:
        """Return grants still marked active whose expiry has passed."""
        return self.filter(status=ConsentGrant.Status.ACTIVE, expires_at__lte=at or timezone.now())


class ConsentGrant(models.Model):
    """What a person allowed one bank to do: one scope version, for one purpose, on one link, until a date.

    `message_types_mask` holds the message types the person left switched on (bits from
    `consent.purposes.MESSAGE_TYPE_BITS`), so the consent check is one indexed query. A grant is
    `active` until the person, the bank, the platform or compliance revokes it, or it expires; after
    that the bank owes a deletion attestation by `deletion_due_at`.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    class RevokedBy(models.TextChoices):
        USER = "user", "You"
        BANK = "bank", "The bank"
        PLATFORM = "platform", "The platform"
        COMPLIANCE = "compliance", "Compliance staff"
        SYSTEM = "system", "The platform, automatically"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_grants")
    link = models.ForeignKey(AccountLink, on_delete=models.CASCADE, related_name="grants")
    # The link's bank, repeated so that the consent check and the partner API read one table.
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="consent_grants")
    scope = models.ForeignKey(DataScope, on_delete=models.PROTECT, related_name="grants")
    scope_version = models.ForeignKey(DataScopeVersion, on_delete=models.PROTECT, related_name="grants")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    message_types_mask = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=16, choices=RevokedBy.choices, blank=True)
    revoke_reason = models.CharField(max_length=300, blank=True)
    # The usage terms the bank had accepted when the person granted (None if it had accepted none).
    terms = models.ForeignKey(UsageTerms, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deletion_due_at = models.DateTimeField(null=True, blank=True)
    deletion_attested_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)

    objects = ConsentGrantQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at", "-pk"]
        constraints = [
            # Two clicks, two tabs or two servers can never leave two active grants for one thing.
            models.UniqueConstraint(
                fields=["link", "scope", "purpose"],
                condition=Q(status="active"),
                name="consent_one_active_grant_per_link_scope_purpose",
            ),
            models.CheckConstraint(
                condition=Q(message_types_mask__gt=0, message_types_mask__lte=ALL_MESSAGE_TYPES_MASK),
                name="consent_grant_message_types_mask_valid",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("granted_at")), name="consent_grant_expires_after_granted"
            ),
            models.CheckConstraint(
                condition=(Q(status="active") & Q(revoked_at__isnull=True) & Q(revoked_by=""))
                | (Q(status="revoked") & Q(revoked_at__isnull=False) & ~Q(revoked_by=""))
                | (Q(status="expired") & Q(revoked_at__isnull=True)),
                name="consent_grant_revocation_matches_status",
            ),
        ]  # fmt: skip
        indexes = [
            # The consent check: WHERE link_id = ? AND purpose = ? AND status = 'active' AND expires_at > ?
            # AND partner_id = ? AND message_types_mask & bit <> 0. A partial index on active grants
            # stays small however many grants were ever revoked.
            models.Index(
                fields=["link", "purpose", "expires_at"],
                condition=Q(status="active"),
                name="consent_grant_check_idx",
            ),
            models.Index(fields=["partner", "status", "-granted_at"], name="consent_grant_partner_idx"),
            models.Index(fields=["status", "expires_at"], name="consent_grant_expiry_idx"),
            models.Index(fields=["user", "status"], name="consent_grant_user_idx"),
        ]

    def __str__(self) -> str:
        return f"grant {self.pk}: {self.purpose} on link {self.link_id}"

    @property
    def message_types(self) -> list[str]:
        """Return the message types this grant allows, in the platform's order."""
        return message_types_in(self.message_types_mask)

    def is_expired(self, at: datetime | None = None) -> bool:
        """Return True once the grant's expiry has passed, whatever its stored status says."""
        return self.expires_at <= (at or timezone.now())


class ConsentEvent(models.Model):
    """One change to a person's consent, kept for ever and never edited; each is a receipt.

    `receipt_json` is the canonical JSON (sorted keys, no spaces) of what happened, and
    `receipt_sha256` its SHA-256: the person can download both and check one against the other.
    """

    class Kind(models.TextChoices):
        LINKED = "linked", "Account linked"
        GRANTED = "granted", "Permission granted"
        RENEWED = "renewed", "Permission renewed"
        NARROWED = "narrowed", "Messages switched off"
        REVOKED = "revoked", "Permission withdrawn"
        EXPIRED = "expired", "Permission expired"
        UNLINKED = "unlinked", "Account unlinked"
        DELETION_ATTESTED = "deletion_attested", "Bank confirmed deletion"
        SHORTENED = "shortened", "Permission shortened by the bank's new wording"
        SCOPE_CHANGED = "scope_changed", "The bank changed its wording"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_events")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="consent_events")
    link = models.ForeignKey(AccountLink, on_delete=models.CASCADE, related_name="events")
    grant = models.ForeignKey(ConsentGrant, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    actor = models.CharField(max_length=16, choices=ConsentGrant.RevokedBy.choices)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    receipt_json = models.TextField()
    receipt_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="consent_event_user_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.public_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert the event; an event is never changed once written."""
        if not self._state.adding:
            raise ValueError("Consent events are immutable: append a new event instead.")
        super().save(*args, **kwargs)


class GrantScopeChange(models.Model):
    """What publishing a new version of its scope did to one grant, for the bank's and compliance's lists.

    The rule: a grant never allows more than its scope's newest published version. A dropped purpose
    ends the grant; a shorter maximum duration caps it (or ends it when the cap has passed); dropped
    fields leave it pinned to the version the person saw; new fields or purposes invite a review.
    The consent event on the grant is the person's receipt; this row ties the change to its cause.
    """

    class Outcome(models.TextChoices):
        REVOKED = "revoked", "Ended: purpose no longer offered"
        EXPIRED = "expired", "Ended: past the new longest grant"
        SHORTENED = "shortened", "Ends earlier"
        PINNED = "pinned", "Unchanged: the bank asks for less"
        REVIEW = "review", "Unchanged: new wording to review"

    grant = models.ForeignKey(ConsentGrant, on_delete=models.CASCADE, related_name="scope_changes")
    # The version whose publishing made the change.
    scope_version = models.ForeignKey(DataScopeVersion, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    invites_review = models.BooleanField(default=False)
    detail = models.CharField(max_length=300)
    expires_before = models.DateTimeField()
    expires_after = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["partner", "-created_at"], name="consent_scope_change_bank_idx"),
            models.Index(fields=["scope_version", "outcome"], name="consent_scope_change_ver_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: grant {self.grant_id} by version {self.scope_version_id}"


class LinkAuthorisation(models.Model):
    """One attempt to link an account: the `state` and PKCE verifier the portal sent the bank.

    The state is stored hashed, used once, expires after `VALID_FOR`, and is bound to the browser
    session that started it (`session_binding_digest`), so a link cannot be planted in someone
    else's session.
    """

    VALID_FOR = timedelta(minutes=10)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    state_digest = models.CharField(max_length=64, unique=True)
    session_binding_digest = models.CharField(max_length=64)
    # The portal's own one-time PKCE secret; it leaves the server only in the token request.
    code_verifier = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"link attempt {self.pk} at {self.partner_id}"

    @property
    def is_expired(self) -> bool:
        """Return True once the attempt can no longer complete."""
        return timezone.now() >= self.expires_at


class SimulatedAuthorisationCode(models.Model):
    """An authorisation code issued by the built-in bank simulator: single use, short-lived, PKCE-bound."""

    VALID_FOR = timedelta(minutes=1)

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    code_digest = models.CharField(max_length=64, unique=True)
    code_challenge = models.CharField(max_length=128)
    redirect_uri = models.CharField(max_length=500)
    account_ref = models.CharField(max_length=128)
    account_mask = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"simulated code {self.pk} at {self.partner_id}"
