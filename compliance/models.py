"""The audit trail: append-only entries, the hash chain a sequencer links them into, and signed checkpoints."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Reads of the audit trail; there are no writes but `compliance.audit.audit_append`."""

    def for_target(self, target_type: str, target_id: str) -> AuditEntryQuerySet:
        """Return the entries about one object."""
        return self.filter(target_type=target_type, target_id=target_id)

    def update(self, **kwargs: Any) -> int:
        raise AuditTrailIsAppendOnly("The audit trail is append-only: entries cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditTrailIsAppendOnly("The audit trail is append-only: entries cannot be deleted.")


class AuditTrailIsAppendOnly(Exception):
    """Raised when code tries to change or remove an audit entry."""


class AppendOnlyModel(models.Model):
    """A row that is written once: Python refuses to change or delete it (and database triggers too)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailIsAppendOnly("The audit trail is append-only: its rows cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailIsAppendOnly("The audit trail is append-only: its rows cannot be deleted.")


# Conditions of the audit entries' partial indexes (a person signed in acted; a bank or person is named).
BY_PERSON = models.Q(actor_type="user")
HAS_PARTNER = models.Q(partner_id__isnull=False)
HAS_PERSON = models.Q(person_id__isnull=False)


class AuditEntry(AppendOnlyModel):
    """One thing that happened, who did it, to what, and the hash of exactly that.

    An entry is written in the transaction of the change it records, with `content_hash` (SHA-256
    over its fields) and nothing else: no lock on anything shared. `txid` is the writing transaction's
    id on PostgreSQL (a database default), which tells the sequencer when every transaction that could
    still add an entry before it has finished. The sequencer then links the entry into the chain
    (`AuditChainLink`). PostgreSQL and SQLite triggers (`compliance.triggers`) refuse UPDATE, DELETE
    and TRUNCATE on every audit table.
    """

    class ActorType(models.TextChoices):
        USER = "user", "Person"
        API_KEY = "api_key", "Partner API key"
        SYSTEM = "system", "System"

    created_at = models.DateTimeField(editable=False, db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices, editable=False)
    actor_id = models.CharField(max_length=64, blank=True, editable=False)
    actor_label = models.CharField(max_length=255, blank=True, editable=False)
    action = models.CharField(max_length=100, editable=False)
    target_type = models.CharField(max_length=100, blank=True, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    target_label = models.CharField(max_length=255, blank=True, editable=False)
    # Canonical JSON text, stored exactly as hashed (a JSON column may reformat numbers).
    data_json = models.TextField(default="{}", editable=False)
    ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    content_hash = models.CharField(max_length=64, editable=False)
    # The bank and the person the entry concerns, read off its target and actor by `audit_append` and
    # hashed with the rest. Plain ids, not foreign keys: the trail outlives the rows it names and imports
    # no app. Entries written before these existed have neither.
    partner_id = models.BigIntegerField(null=True, blank=True, editable=False)
    person_id = models.BigIntegerField(null=True, blank=True, editable=False)
    # PostgreSQL: `pg_current_xact_id()`, set by the database (migration 0003); 0 elsewhere.
    txid = models.BigIntegerField(db_default=0, editable=False, db_index=True)
    # Erasure (`compliance.data_requests.erasure`): the hash covers the salted commitment to the labels,
    # data and address, so they can be erased (salt and values replaced by the commitment) and the entry
    # still verifies. Entries written before these existed have neither and cannot be erased.
    personal_salt = models.CharField(max_length=32, blank=True, default="", editable=False)
    personal_commitment = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        # Each shaped for the trail's keyset pages (`compliance.trail`): an equality, then `id` descending.
        # Entries by people are few beside machine traffic, so their indexes are partial and cheap to keep.
        indexes = [
            models.Index(fields=["target_type", "target_id", "id"], name="audit_target_id_idx"),
            models.Index(fields=["action", "id"], name="audit_action_id_idx"),
            models.Index(fields=["partner_id", "id"], name="audit_partner_id_idx", condition=HAS_PARTNER),
            models.Index(fields=["person_id", "id"], name="audit_person_id_idx", condition=HAS_PERSON),
            models.Index(fields=["id"], name="audit_people_id_idx", condition=BY_PERSON),
            models.Index(fields=["partner_id", "id"], name="audit_partner_people_idx", condition=BY_PERSON),
            models.Index(fields=["actor_id", "id"], name="audit_actor_people_idx", condition=BY_PERSON),
        ]

    def __str__(self) -> str:
        return f"audit entry {self.pk} {self.action}"

    @property
    def data(self) -> dict[str, Any]:
        """Return the entry's (already redacted) data."""
        value: dict[str, Any] = json.loads(self.data_json)
        return value

    @property
    def by_person(self) -> bool:
        """Return True when a person signed in did this; False for API keys and the system (machine traffic)."""
        return self.actor_type == self.ActorType.USER

    @property
    def position(self) -> int | None:
        """Return the entry's place in the chain, or None while it waits for the sequencer."""
        try:
            return self.link.position
        except AuditChainLink.DoesNotExist:
            return None


class AuditChainLink(AppendOnlyModel):
    """An entry's place in the chain: its position and the hash that binds it to every entry before it.

    `chain_hash` is SHA-256 over the position, the previous link's `chain_hash` and the entry's
    `content_hash`; only the sequencer (`compliance.audit.sequencer`) writes links, in order.
    """

    position = models.BigIntegerField(primary_key=True, editable=False)
    entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="link", editable=False)
    chain_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["position"]
        constraints = [models.CheckConstraint(condition=models.Q(position__gte=1), name="audit_position_positive")]

    def __str__(self) -> str:
        return f"#{self.position}"


class AuditChainHead(models.Model):
    """The single row that holds the chain's newest position and hash, and how far sealing has come.

    Only the sequencer locks it; appending an entry never touches it. On PostgreSQL every entry of a
    transaction below `watermark` is sealed already, so the sequencer looks only at newer ones.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    chain_hash = models.CharField(max_length=64)
    watermark = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "audit chain head"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"head #{self.size}"


class AuditCheckpoint(AppendOnlyModel):
    """A signed statement of the chain's size and head hash at one moment (Ed25519).

    The same checkpoint is written to `AUDIT_CHECKPOINT_DIR`, outside the database: verification
    trusts only those files, so truncating the trail, rewinding the head or recomputing hashes after
    an edit cannot go unnoticed by someone who controls the database alone.
    """

    size = models.BigIntegerField(editable=False)
    chain_hash = models.CharField(max_length=64, editable=False)
    signed_at = models.DateTimeField(editable=False)
    key_id = models.CharField(max_length=16, editable=False)
    signature = models.CharField(max_length=128, editable=False)

    class Meta:
        ordering = ["-size"]
        get_latest_by = "size"

    def __str__(self) -> str:
        return f"checkpoint at #{self.size}"


class VerificationRun(models.Model):
    """One verification of the whole chain, run by a Celery job, with its progress and what it found.

    Not part of the trail: its progress changes while it runs. Who started it and what it found are
    audited (`compliance.trail.verification`).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Could not finish"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    checked = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    broken_at = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    unsealed = models.BigIntegerField(default=0)
    checkpoint_size = models.BigIntegerField(null=True, blank=True)
    checkpoint_signed_at = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"verification {self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        """Return True once the run has a result (or has failed)."""
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def ok(self) -> bool:
        """Return True when the run finished and the whole chain verified."""
        return self.status == self.Status.DONE and self.broken_at is None

    @property
    def percent(self) -> int:
        """Return how far the run has come, 0 to 100."""
        if self.finished:
            return 100
        return min(99, self.checked * 100 // self.total) if self.total else 0

    @property
    def beyond_checkpoint(self) -> int:
        """Return how many verified entries are newer than the newest checkpoint."""
        return self.checked - (self.checkpoint_size or 0)


class AttestationChase(models.Model):
    """Compliance staff asked a bank to attest the deletions it owes: when, by whom, and how many were overdue.

    Written with its audit entry in one transaction (`compliance.reports.chase`); the email leaves after
    commit. The overdue attestations report shows each bank's latest chase.
    """

    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(db_index=True)
    overdue = models.PositiveIntegerField()
    recipients = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-sent_at", "-pk"]
        indexes = [models.Index(fields=["partner", "-sent_at"], name="compliance_chase_bank_idx")]

    def __str__(self) -> str:
        return f"chase of bank {self.partner_id} at {self.sent_at:%Y-%m-%d %H:%M}"


# Data-subject requests live in their own package; imported here so Django finds the model.
from .data_requests.models import DataRequest  # noqa: E402, F401
