"""The staff groups and the model permissions each holds, kept in place after every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from .models import COMPLIANCE_STAFF_GROUP, PLATFORM_STAFF_GROUP

# (app label, codename) each group holds everywhere; object-level bank access stays with guardian.
GROUP_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    PLATFORM_STAFF_GROUP: [
        ("portal", "view_user"),
        ("portal", "view_workerheartbeat"),
        ("partners", "view_partner"),
        ("partners", "view_partnermembership"),
        ("partners", "view_partnerapikey"),
        ("partners", "view_datascope"),
        ("partners", "view_datascopeversion"),
        ("partners", "view_chatbotcapability"),
        ("partners", "view_usageterms"),
        ("partners", "view_termsacceptance"),
        ("partners", "view_invitation"),
        ("partners", "view_webhookendpoint"),
        ("compliance", "view_auditentry"),
        # The lockout's counted failures and sign-ins (django-axes), read-only; staff lift a lockout by action.
        ("axes", "view_accessattempt"),
        ("axes", "view_accesslog"),
    ],
    COMPLIANCE_STAFF_GROUP: [
        ("compliance", "view_auditentry"),
    ],
}


def ensure_staff_groups(**kwargs: Any) -> None:
    """Create the staff groups and give them their permissions (a post_migrate receiver)."""
    for name, perms in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = Permission.objects.select_related("content_type").filter(
            content_type__app_label__in={app for app, _ in perms},
            codename__in={codename for _, codename in perms},
        )
        # `set`, not `add`: the declaration is the whole truth, so a permission removed here goes.
        group.permissions.set([p for p in wanted if (p.content_type.app_label, p.codename) in set(perms)])
