"""Reads of the audit trail for compliance staff."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditEntry


def audit_entries_for(*, target_type: str, target_id: str) -> QuerySet[AuditEntry]:
    """Return the entries about one object (`target_type` is its `app_label.model`), newest first."""
    return AuditEntry.objects.for_target(target_type, target_id).select_related("link").order_by("-id")
