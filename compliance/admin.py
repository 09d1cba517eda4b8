"""Admin for the audit trail: read-only, because the trail is append-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """Entries can be read and searched; nothing can be added, changed or deleted here."""

    list_display = ["sequence", "created_at", "actor_label", "action", "target_label", "ip"]
    list_filter = ["action", "actor_type"]
    search_fields = ["action", "actor_label", "target_label", "target_id"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
