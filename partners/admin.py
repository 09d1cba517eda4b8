"""Admin for partner banks; members of a bank see only their own bank."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from .models import (
    ChatbotCapability,
    DataScope,
    DataScopeVersion,
    Invitation,
    Partner,
    PartnerApiKey,
    PartnerMembership,
    TermsAcceptance,
    UsageTerms,
    WebhookEndpoint,
)

_M = TypeVar("_M", bound=models.Model)


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
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a bank's site is https


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


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """A model staff may look at here but never add, change or delete: writes go through the services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


SCOPE_VERSION_FIELDS = (
    "number", "status", "name", "category", "sensitivity", "purposes", "retention_days", "max_duration_days",
    "published_at", "approved_by", "approved_at", "narrowed",
)  # fmt: skip


class DataScopeVersionInline(admin.TabularInline[DataScopeVersion, DataScope]):
    model = DataScopeVersion
    extra = 0
    fields = SCOPE_VERSION_FIELDS
    readonly_fields = SCOPE_VERSION_FIELDS
    ordering = ["-number"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DataScope)
class DataScopeAdmin(ReadOnlyAdmin[DataScope]):
    """Scopes and every version of their wording; banks change them through their pages and the API."""

    list_display = ["code", "partner", "published_version", "created_at", "retired_at"]
    list_select_related = ["partner", "published_version"]
    list_filter = ["retired_at"]
    search_fields = ["code", "partner__legal_name"]
    fields = ["partner", "code", "published_version", "created_at", "retired_at"]
    inlines = [DataScopeVersionInline]


@admin.register(ChatbotCapability)
class ChatbotCapabilityAdmin(ReadOnlyAdmin[ChatbotCapability]):
    """Chatbot capabilities of the banks."""

    list_display = ["code", "partner", "name", "status", "updated_at"]
    list_select_related = ["partner"]
    list_filter = ["status"]
    search_fields = ["code", "name", "partner__legal_name"]
    fields = [
        "partner", "code", "name", "description", "sample_utterances", "scopes", "message_types", "webhook_url",
        "status", "created_at", "updated_at",
    ]  # fmt: skip


@admin.register(UsageTerms)
class UsageTermsAdmin(ReadOnlyAdmin[UsageTerms]):
    """Published usage terms, which never change; staff publish new ones on the usage terms page."""

    list_display = ["version", "title", "published_at", "published_by", "requires_reacceptance", "grace_days"]
    list_select_related = ["published_by"]
    fields = [
        "version", "title", "body", "body_sha256", "requires_reacceptance", "grace_days", "published_at",
        "published_by",
    ]  # fmt: skip


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyAdmin[TermsAcceptance]):
    """Which bank accepted which terms, who, when and from where."""

    list_display = ["partner", "terms", "accepted_by", "accepted_at", "ip"]
    list_select_related = ["partner", "terms", "accepted_by"]
    search_fields = ["partner__legal_name", "accepted_by__email"]
    fields = ["partner", "terms", "accepted_by", "accepted_at", "ip", "user_agent", "text_sha256"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin[Invitation]):
    """Invitations to join a bank; the token's digest is never shown."""

    list_display = ["email", "partner", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_select_related = ["partner"]
    list_filter = ["role"]
    search_fields = ["email", "partner__legal_name"]
    # `token_digest` is left out on purpose: together with a guess it would confirm a token.
    fields = [
        "partner", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "accepted_by",
        "revoked_at",
    ]  # fmt: skip


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin[WebhookEndpoint]):
    """Banks' webhook endpoints; their signing secrets are never shown."""

    list_display = ["url", "partner", "is_active", "created_at", "disabled_at"]
    list_select_related = ["partner"]
    list_filter = ["is_active"]
    search_fields = ["url", "partner__legal_name"]
    # `secret` and `previous_secret` are left out on purpose: only the bank may see them, once.
    fields = [
        "partner", "url", "description", "event_types", "is_active", "disabled_at", "disabled_reason",
        "previous_secret_expires_at", "created_at", "updated_at",
    ]  # fmt: skip
