"""Reads of partner banks, filtered to what the asking person may see."""

from __future__ import annotations

from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user

from portal.errors import ApplicationError
from portal.models import User

from .models import Partner, PartnerApiKey
from .permissions import VIEW
from .services import parse_api_key


def partners_for_user(*, user: User) -> QuerySet[Partner]:
    """Return the banks `user` is a member of (platform staff see them all elsewhere)."""
    return get_objects_for_user(user, VIEW, klass=Partner, accept_global_perms=False).order_by("legal_name")


def partners_for_review() -> QuerySet[Partner]:
    """Return every bank for platform staff, newest applications first."""
    return Partner.objects.order_by("-created_at", "pk")


def partner_api_key_for_raw(*, raw_key: str) -> PartnerApiKey | None:
    """Return the active key that `raw_key` is, with its bank, or None."""
    try:
        _, lookup = parse_api_key(raw_key)
    except ApplicationError:
        return None
    key = PartnerApiKey.objects.active().select_related("partner").filter(lookup=lookup).first()
    if key is None or not key.matches(raw_key):
        return None
    return key


def partner_home_for_user(*, user: User, slug: str) -> dict[str, object] | None:
    """Return what a member's bank page shows, or None when `user` is not a member of it."""
    partner = partners_for_user(user=user).filter(slug=slug).first()
    if partner is None:
        return None
    memberships = partner.memberships.select_related("user").order_by("role", "user__email")
    keys = partner.api_keys.order_by("-created_at")
    return {
        "partner": partner,
        "memberships": list(memberships),
        "api_keys": list(keys),
        "membership": next((m for m in memberships if m.user_id == user.pk), None),
    }
