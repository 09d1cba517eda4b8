"""Template context every page shares: the navigation for the person's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from .models import User

# (role, label, url name) in the order the header shows them.
NAVIGATION: list[tuple[User.Role, str, str]] = [
    (User.Role.END_USER, "My banks", "consent:dashboard"),
    (User.Role.END_USER, "Inbox", "delivery:inbox"),
    (User.Role.PARTNER_MEMBER, "My bank", "partners:home"),
    (User.Role.PLATFORM_STAFF, "Bank reviews", "partners:staff-home"),
    (User.Role.PLATFORM_STAFF, "Usage terms", "partners:staff-terms"),
    (User.Role.PLATFORM_STAFF, "Deliveries", "delivery:staff-deliveries"),
    (User.Role.PLATFORM_STAFF, "Support", "support:lookup"),
    (User.Role.PLATFORM_STAFF, "Admin", "admin:index"),
    (User.Role.COMPLIANCE_STAFF, "Audit trail", "compliance:home"),
    (User.Role.COMPLIANCE_STAFF, "Scope reviews", "compliance:scope-reviews"),
    (User.Role.COMPLIANCE_STAFF, "Reports", "compliance:reports"),
    (User.Role.COMPLIANCE_STAFF, "Data requests", "compliance:data-requests"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Return the links the signed-in person may use, marking the current one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not isinstance(user, User):
        return {"nav_items": []}
    staff = user.primary_role in (User.Role.PLATFORM_STAFF, User.Role.COMPLIANCE_STAFF)
    items: list[dict[str, Any]] = []
    for role, label, url_name in NAVIGATION:
        if role == User.Role.END_USER and staff:
            continue  # staff accounts are for work; their own banking is not shown there
        if user.has_role(role):
            items.append({"label": label, "url": reverse(url_name), "current": False})
    # One link is current: the longest one the path starts with (/compliance/scopes/ is not /compliance/).
    matches = [item for item in items if request.path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["current"] = True
    return {"nav_items": items, "primary_role": user.primary_role}
