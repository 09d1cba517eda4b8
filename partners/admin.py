"""Admin for partner banks: read-only pages; status changes and key revocation go through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse

from portal.admin_site import ReadOnlyModelAdmin, ReadOnlyTabularInline, call_for_each

from . import services
from .forms import PartnerTransitionForm
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


class MembershipInline(ReadOnlyTabularInline[PartnerMembership]):
    model = PartnerMembership
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "role", "created_at"]


@admin.register(Partner)
class PartnerAdmin(ReadOnlyModelAdmin[Partner]):
    """Banks and their status; staff move a bank on with the action, which asks for a note."""

    list_display = ["legal_name", "slug", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["legal_name", "slug"]
    inlines = [MembershipInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # the read-only page still builds a form
    actions = ["move_to_status"]

    @admin.action(description="Move the selected banks to another status", permissions=["platform_staff"])
    def move_to_status(self, request: HttpRequest, queryset: models.QuerySet[Partner]) -> TemplateResponse | None:
        """Ask for the new status and a note, then move each bank through `partner_transition`."""
        form = PartnerTransitionForm(
            request.POST if "apply" in request.POST else None, next_statuses=list(Partner.Status.choices)
        )
        if "apply" in request.POST and form.is_valid():
            to_status, note = form.cleaned_data["to_status"], form.cleaned_data["note"]
            missing_confirmed = form.cleaned_data["missing_confirmed"]
            label = Partner.Status(to_status).label.lower()
            call_for_each(
                self,
                request,
                queryset,
                lambda partner: services.partner_transition(
                    partner=partner,
                    to_status=to_status,
                    note=note,
                    actor=request.user,
                    missing_confirmed=missing_confirmed,
                ),
                done=f"{{count}} bank(s) are now {label}.",
            )
            return None
        if "apply" in request.POST:
            self.message_user(request, "Choose a status and write a note.", messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "title": "Move banks to another status",
            "opts": self.model._meta,
            "form": form,
            "partners": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/partners/partner/move_to_status.html", context)


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(ReadOnlyModelAdmin[PartnerApiKey]):
    """API keys, shown by their public part only; staff can revoke a leaked key."""

    list_display = ["partner", "name", "environment", "lookup", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["environment"]
    list_select_related = ["partner"]
    # `digest` is left out on purpose: it is what a guessed key would be checked against.
    fields = [
        "partner", "name", "environment", "lookup", "created_at", "created_by", "last_used_at", "expires_at",
        "revoked_at",
    ]  # fmt: skip
    actions = ["revoke"]

    @admin.action(description="Revoke the selected API keys", permissions=["platform_staff"])
    def revoke(self, request: HttpRequest, queryset: models.QuerySet[PartnerApiKey]) -> None:
        """Revoke each key through `partner_api_key_revoke`; requests with it fail from then on."""
        call_for_each(
            self,
            request,
            queryset,
            lambda key: services.partner_api_key_revoke(key=key, actor=request.user),
            done="{count} key(s) revoked.",
        )


SCOPE_VERSION_FIELDS = (
    "number", "status", "name", "category", "sensitivity", "purposes", "retention_days", "max_duration_days",
    "published_at", "approved_by", "approved_at", "narrowed",
)  # fmt: skip


class DataScopeVersionInline(ReadOnlyTabularInline[DataScopeVersion]):
    model = DataScopeVersion
    fields = SCOPE_VERSION_FIELDS
    readonly_fields = SCOPE_VERSION_FIELDS
    ordering = ["-number"]


@admin.register(DataScope)
class DataScopeAdmin(ReadOnlyModelAdmin[DataScope]):
    """Scopes and every version of their wording; banks change them through their pages and the API."""

    list_display = ["code", "partner", "published_version", "created_at", "retired_at"]
    list_select_related = ["partner", "published_version"]
    list_filter = ["retired_at"]
    search_fields = ["code", "partner__legal_name"]
    fields = ["partner", "code", "published_version", "created_at", "retired_at"]
    inlines = [DataScopeVersionInline]


@admin.register(ChatbotCapability)
class ChatbotCapabilityAdmin(ReadOnlyModelAdmin[ChatbotCapability]):
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
class UsageTermsAdmin(ReadOnlyModelAdmin[UsageTerms]):
    """Published usage terms, which never change; staff publish new ones on the usage terms page."""

    list_display = ["version", "title", "published_at", "published_by", "requires_reacceptance", "grace_days"]
    list_select_related = ["published_by"]
    fields = [
        "version", "title", "body", "body_sha256", "requires_reacceptance", "grace_days", "published_at",
        "published_by",
    ]  # fmt: skip


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyModelAdmin[TermsAcceptance]):
    """Which bank accepted which terms, who, when and from where."""

    list_display = ["partner", "terms", "accepted_by", "accepted_at", "ip"]
    list_select_related = ["partner", "terms", "accepted_by"]
    search_fields = ["partner__legal_name", "accepted_by__email"]
    fields = ["partner", "terms", "accepted_by", "accepted_at", "ip", "user_agent", "text_sha256"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyModelAdmin[Invitation]):
    """Invitations to join a bank; the token's digest is never shown. Only the bank's managers withdraw them."""

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
class WebhookEndpointAdmin(ReadOnlyModelAdmin[WebhookEndpoint]):
    """Banks' webhook endpoints; their signing secrets are never shown. Banks manage them on their pages."""

    list_display = ["url", "partner", "is_active", "created_at", "disabled_at"]
    list_select_related = ["partner"]
    list_filter = ["is_active"]
    search_fields = ["url", "partner__legal_name"]
    # `secret` and `previous_secret` are left out on purpose: only the bank may see them, once.
    fields = [
        "partner", "url", "description", "event_types", "is_active", "disabled_at", "disabled_reason",
        "previous_secret_expires_at", "created_at", "updated_at",
    ]  # fmt: skip
