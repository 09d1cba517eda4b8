"""App configurations: the project package, and Django's admin with the portal's own site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    """People, roles, site pages; connects the sign-in audit receivers."""

    name = "portal"
    verbose_name = "Portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import signals
        from django.db.models.signals import post_migrate

        # lookups registers `__any` on every field; outbound_guard registers the gateway URL check.
        from . import lookups, outbound_guard, receivers  # noqa: F401
        from .groups import ensure_staff_groups
        from .sessions import receivers as session_receivers

        # Runs after every migrate and after each test flush, so the groups always exist.
        post_migrate.connect(ensure_staff_groups, dispatch_uid="portal.ensure_staff_groups")

        signals.user_logged_in.connect(receivers.audit_login, dispatch_uid="portal.audit_login")
        signals.user_logged_out.connect(receivers.audit_logout, dispatch_uid="portal.audit_logout")
        # Each sign-in starts its session's limits; signing out ends every session of that person.
        signals.user_logged_in.connect(session_receivers.begin_session, dispatch_uid="portal.sessions.begin")
        signals.user_logged_out.connect(session_receivers.end_every_session, dispatch_uid="portal.sessions.end_all")
        signals.user_login_failed.connect(receivers.audit_login_failed, dispatch_uid="portal.audit_login_failed")


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django's admin, whose default site is the portal's (read-only admins; an audited password page)."""

    default = False  # `portal` itself still resolves to PortalConfig
    default_site = "portal.admin_site.PortalAdminSite"
