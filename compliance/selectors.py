"""Reads of the audit trail for compliance staff."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditEntry


def audit_entries(*, action: str = "", target: str = "") -> QuerySet[AuditEntry]:
    """Return audit entries, newest first, narrowed by action prefix and target label."""
    entries = AuditEntry.objects.select_related("link").order_by("-id")
    if action:
        entries = entries.filter(action__startswith=action)
    if target:
        entries = entries.filter(target_label__icontains=target)
    return entries


def audit_entries_for(*, target_type: str, target_id: str) -> QuerySet[AuditEntry]:
    """Return the entries about one object (`target_type` is its `app_label.model`), newest first."""
    return AuditEntry.objects.for_target(target_type, target_id).select_related("link").order_by("-id")
