"""The portal's admin site, and the one read-only base its model admins share: changes go through services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

from .errors import ApplicationError
from .forms import AdminSignInForm
from .models import User

_M = TypeVar("_M", bound=models.Model)


class PortalAdminSite(admin.AdminSite):
    """Django's admin site, open only to sessions verified by a second factor (like django-otp's `OTPAdminSite`).

    Its password page saves through the audited service like the portal's own. Sign-in and the code
    are the portal's: the second factor's middleware sends an unverified session to the code page first.
    """

    site_header = "Bank partnership portal: platform staff"
    login_form = AdminSignInForm  # the same lockout as the portal's sign-in page
    site_title = "Portal admin"

    def has_permission(self, request: HttpRequest) -> bool:
        """Return True for active staff whose session gave a code of their second factor."""
        is_verified = getattr(request.user, "is_verified", None)
        return super().has_permission(request) and callable(is_verified) and bool(is_verified())

    # The stubs promise a TemplateResponse; Django's own answer is a redirect once the password is saved.
    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseBase:
        from .views import PasswordChangeView

        request.current_app = self.name
        view = PasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )
        return view(request)


class ReadOnlyAdminMixin:
    """Nobody, superusers included, adds, changes or deletes here: the trail must see every change.

    Every write in the portal goes through a service that checks who may act and appends its audit
    entry in the same transaction; an admin form would do neither. What staff may change, they
    change through admin actions that call those services, or on the portal's own pages. Works for
    model admins and inlines alike; `platform_staff` and `superuser` name who may run an action.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_platform_staff_permission(self, request: HttpRequest) -> bool:
        """Return True for active platform staff, who may run the actions that staff pages also offer."""
        user = request.user
        return isinstance(user, User) and user.is_active and user.has_role(User.Role.PLATFORM_STAFF)

    def has_superuser_permission(self, request: HttpRequest) -> bool:
        """Return True for active superusers, the only people who may hand out staff roles."""
        user = request.user
        return isinstance(user, User) and user.is_active and user.is_superuser


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[_M]):
    """A model admin for reading; its actions, if any, call services."""


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline[_M, Any]):
    """An inline for reading only."""

    extra = 0
    can_delete = False


def call_for_each(
    model_admin: admin.ModelAdmin[_M],
    request: HttpRequest,
    queryset: models.QuerySet[_M],
    call: Callable[[_M], object],
    *,
    done: str,
) -> int:
    """Call a service for each selected object, report each refusal by name, and return how many went through.

    Each call is its own transaction (the service's), so one refusal leaves the others done.
    """
    succeeded = 0
    for obj in queryset:
        try:
            call(obj)
        except ApplicationError as error:
            model_admin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        model_admin.message_user(request, done.format(count=succeeded), messages.SUCCESS)
    return succeeded
