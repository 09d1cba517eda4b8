"""Admin for people and groups: read-only; deactivation and staff roles go through the services."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.http import HttpRequest
from django_otp.plugins.otp_totp import admin as _totp_admin  # noqa: F401  (registers the admin unregistered below)
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import lockout, services
from .admin_site import ReadOnlyAdminMixin, ReadOnlyModelAdmin, call_for_each
from .models import User, WorkerHeartbeat
from .requests import client_ip
from .second_factor.services import second_factor_reset


@admin.register(User)
class UserAdmin(ReadOnlyAdminMixin, BaseUserAdmin):
    """People, found by email; passwords are never shown, and people are deactivated, never deleted."""

    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email",)}),
        ("Personal details", {"fields": ("full_name", "time_zone")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    actions = ["deactivate", "reset_second_factor", "grant_platform_staff", "grant_compliance_staff"]

    @admin.action(description="Deactivate the selected people", permissions=["platform_staff"])
    def deactivate(self, request: HttpRequest, queryset: models.QuerySet[User]) -> None:
        """Deactivate each person through `user_deactivate`; their sessions stop working."""
        ip = client_ip(request)
        call_for_each(
            self,
            request,
            queryset,
            lambda user: services.user_deactivate(user=user, actor=request.user, ip=ip),
            done="{count} person(s) deactivated.",
        )

    @admin.action(
        description="Reset the second factor of the selected people (lost phone)", permissions=["platform_staff"]
    )
    def reset_second_factor(self, request: HttpRequest, queryset: models.QuerySet[User]) -> None:
        """Remove each person's authenticator app and recovery codes through `second_factor_reset`."""
        ip = client_ip(request)
        call_for_each(
            self,
            request,
            queryset,
            lambda user: second_factor_reset(user=user, actor=request.user, ip=ip),
            done="{count} person(s) will set up a new authenticator app at their next sign-in.",
        )

    @admin.action(description="Make the selected people platform staff", permissions=["superuser"])
    def grant_platform_staff(self, request: HttpRequest, queryset: models.QuerySet[User]) -> None:
        """Give each person the platform staff role through `user_grant_staff_role`."""
        call_for_each(
            self,
            request,
            queryset,
            lambda user: services.user_grant_staff_role(user=user, role=User.Role.PLATFORM_STAFF, actor=request.user),
            done="{count} person(s) are platform staff now.",
        )

    @admin.action(description="Make the selected people compliance staff", permissions=["superuser"])
    def grant_compliance_staff(self, request: HttpRequest, queryset: models.QuerySet[User]) -> None:
        """Give each person the compliance staff role through `user_grant_staff_role`."""
        call_for_each(
            self,
            request,
            queryset,
            lambda user: services.user_grant_staff_role(user=user, role=User.Role.COMPLIANCE_STAFF, actor=request.user),
            done="{count} person(s) are compliance staff now.",
        )


# The staff groups' permissions are declared in `portal/groups.py` and set after every migrate.
admin.site.unregister(Group)
# django-otp's own device admin edits devices and shows their keys: staff reset a person's second
# factor with the action above instead, which is audited.
admin.site.unregister(TOTPDevice)


@admin.register(Group)
class GroupAdmin(ReadOnlyAdminMixin, BaseGroupAdmin):
    """Groups and their permissions, as `portal/groups.py` declares them; membership changes by role actions."""


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyModelAdmin[WorkerHeartbeat]):
    """Worker heartbeats, as /healthz reads them."""

    list_display = ["hostname", "last_seen"]


@admin.register(AccessAttempt)
class AccessAttemptAdmin(ReadOnlyModelAdmin[AccessAttempt]):
    """Failed sign-ins and codes that the lockout counts (django-axes); staff lift a lockout with the action."""

    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "path_info"]
    list_filter = ["attempt_time"]
    search_fields = ["username", "ip_address"]
    ordering = ["-attempt_time"]
    # The stored form data is cleansed of secrets, but nobody needs it to decide on a lockout.
    exclude = ["get_data", "post_data"]
    actions = ["lift_lockout"]

    @admin.action(description="Lift the lockout of the selected accounts and addresses", permissions=["platform_staff"])
    def lift_lockout(self, request: HttpRequest, queryset: models.QuerySet[AccessAttempt]) -> None:
        """Forget each selected record's failures through `lockout_clear`, which audits it."""
        ip = client_ip(request)
        call_for_each(
            self,
            request,
            queryset,
            lambda attempt: lockout.lockout_clear(attempt=attempt, actor=request.user, ip=ip),
            done="{count} lockout(s) lifted: they may try again now.",
        )


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyModelAdmin[AccessLog]):
    """Successful sign-ins as django-axes records them, with their address, read-only."""

    list_display = ["username", "ip_address", "attempt_time", "logout_time", "path_info"]
    search_fields = ["username", "ip_address"]
    ordering = ["-attempt_time"]
