"""Admin for partner banks; members of a bank see only their own bank."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Partner, PartnerApiKey, PartnerMembership


class MembershipInline(admin.TabularInline[PartnerMembership, Partner]):
    model = PartnerMembership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin[Partner]):
    """Banks and their status; status changes go through the review queue's services."""

    list_display = ["legal_name", "slug", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["legal_name", "slug"]
    readonly_fields = ["status", "created_at", "updated_at"]
    inlines = [MembershipInline]


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(admin.ModelAdmin[PartnerApiKey]):
    """API keys, shown by their public part only."""

    list_display = ["partner", "name", "environment", "lookup", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["environment"]
    list_select_related = ["partner"]
    readonly_fields = [
        "partner",
        "name",
        "environment",
        "lookup",
        "digest",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
