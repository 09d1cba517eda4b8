"""Writes to people: sign-up and role changes, each one audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from compliance.audit import audit_append
from portal.errors import Conflict

from .models import COMPLIANCE_STAFF_GROUP, PLATFORM_STAFF_GROUP, User


def user_sign_up(*, email: str, password: str, full_name: str = "", ip: str | None = None) -> User:
    """Create an end user's account and return it."""
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=email).exists():
                raise Conflict(
                    "An account with this email address already exists. Sign in, or reset your password.",
                    code="duplicate",
                    fields={"email": ["This email address already has an account."]},
                )
            user = User.objects.create_user(email=email, password=password, full_name=full_name)
            audit_append(action="user.sign_up", actor=user, target=user, ip=ip)
    except IntegrityError as exc:  # two sign-ups racing for the same address
        raise Conflict(
            "An account with this email address already exists. Sign in, or reset your password.",
            code="duplicate",
            fields={"email": ["This email address already has an account."]},
        ) from exc
    return user


def user_grant_staff_role(*, user: User, role: User.Role, actor: Any = None) -> User:
    """Make `user` platform staff or compliance staff."""
    group_name = {User.Role.PLATFORM_STAFF: PLATFORM_STAFF_GROUP, User.Role.COMPLIANCE_STAFF: COMPLIANCE_STAFF_GROUP}[
        role
    ]
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=group_name)
        if not user.groups.filter(pk=group.pk).exists():
            user.groups.add(group)
            if role == User.Role.PLATFORM_STAFF and not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            audit_append(action="user.role_grant", actor=actor, target=user, data={"role": role.value})
        user.__dict__.pop("roles", None)
    return user
