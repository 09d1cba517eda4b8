"""The audit trail: hash-chained, append-only entries, and the head of the chain."""

from __future__ import annotations

import json
from typing import Any

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


class AuditEntry(models.Model):
    """One thing that happened, who did it, to what, and the hash that chains it to the last.

    `entry_hash` is SHA-256 over the canonical JSON of every other field, including the previous
    entry's hash, so changing any entry breaks the chain from there on. PostgreSQL and SQLite
    triggers (see `compliance.triggers`) refuse UPDATE, DELETE and TRUNCATE on the table.
    """

    class ActorType(models.TextChoices):
        USER = "user", "Person"
        API_KEY = "api_key", "Partner API key"
        SYSTEM = "system", "System"

    sequence = models.BigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False, db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices, editable=False)
    actor_id = models.CharField(max_length=64, blank=True, editable=False)
    actor_label = models.CharField(max_length=255, blank=True, editable=False)
    action = models.CharField(max_length=100, db_index=True, editable=False)
    target_type = models.CharField(max_length=100, blank=True, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    target_label = models.CharField(max_length=255, blank=True, editable=False)
    # Canonical JSON text, stored exactly as hashed (a JSON column may reformat numbers).
    data_json = models.TextField(default="{}", editable=False)
    ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="audit_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailIsAppendOnly("The audit trail is append-only: entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailIsAppendOnly("The audit trail is append-only: entries cannot be deleted.")

    @property
    def data(self) -> dict[str, Any]:
        """Return the entry's (already redacted) data."""
        value: dict[str, Any] = json.loads(self.data_json)
        return value


class AuditChainHead(models.Model):
    """The single row that holds the newest sequence and hash.

    Appenders lock it (`SELECT ... FOR UPDATE`) so that concurrent transactions chain one after the
    other instead of forking the chain.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "audit chain head"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"head #{self.sequence}"
