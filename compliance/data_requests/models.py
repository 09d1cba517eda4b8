"""A data-subject request: who asked for what about which person, and how far its work has come."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DataRequest(models.Model):
    """One request about one person: an archive of everything held about them, or their erasure.

    Logged by compliance staff (with the reason and the reference of the letter or ticket), or made by
    the person themselves ("download my data", then `requested_by` is the person). An archive is built
    by a Celery job that keeps `done` and `total` here for the progress bar; its zip lives under
    `COMPLIANCE_ARCHIVE_DIR` until `expires_at` (`RETENTION_EXPORT_DAYS`). Not part of the trail (its
    progress changes while it runs); logging, building, downloading and erasing are audited. The foreign
    key is named `user`, so the trail files those entries under the person they are about.
    """

    class Kind(models.TextChoices):
        ARCHIVE = "archive", "Copy of their data"
        ERASURE = "erasure", "Erasure"

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Being prepared"
        READY = "ready", "Ready to download"
        DONE = "done", "Done"
        FAILED = "failed", "Could not finish"
        EXPIRED = "expired", "Expired (the file was deleted)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="data_requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.CharField(max_length=300, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="data_requests_made"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    done = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.BigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="compliance_dreq_user_idx"),
            models.Index(fields=["state", "expires_at"], name="compliance_dreq_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} request {self.pk}"

    @property
    def by_the_person(self) -> bool:
        """Return True when the person asked for it themselves (from their account)."""
        return self.requested_by_id is not None and self.requested_by_id == self.user_id

    @property
    def finished(self) -> bool:
        """Return True once the work has a result (or has failed)."""
        return self.state not in (self.State.QUEUED, self.State.RUNNING)

    @property
    def percent(self) -> int:
        """Return how far the work has come, 0 to 100."""
        if self.finished:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0
