"""Admin for the audit trail: read-only, because the trail is append-only."""

from __future__ import annotations

from django.contrib import admin

from portal.admin_site import ReadOnlyModelAdmin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin[AuditEntry]):
    """Entries can be read and searched; nothing can be added, changed or deleted here."""

    list_display = ["id", "position", "created_at", "actor_label", "action", "target_label", "ip"]
    list_filter = ["action", "actor_type"]
    search_fields = ["action", "actor_label", "target_label", "target_id"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    show_full_result_count = False
    list_select_related = ["link"]
