"""Who must have a second factor, and what a signed-in person owes before any other page: that rule's one home."""

from __future__ import annotations

import enum

from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import User

# Everyone who acts for the platform or for a bank; end users may turn it on from their security page.
REQUIRED_FOR = frozenset({User.Role.PLATFORM_STAFF, User.Role.COMPLIANCE_STAFF, User.Role.PARTNER_MEMBER})


class Due(enum.Enum):
    """What a signed-in person who has not given a code in this session must do first."""

    VERIFY = "verify"  # they have an authenticator app: give its code, or a recovery code
    ENROL = "enrol"  # they must have one and have none yet: set one up


def second_factor_required(user: User) -> bool:
    """Return True when `user` must have a second factor: platform staff, compliance staff, every bank member."""
    return bool(user.roles & REQUIRED_FOR)


def second_factor_enabled(user: User) -> bool:
    """Return True when `user` has a confirmed authenticator app (their recovery codes come with it)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_due(user: User) -> Due | None:
    """Return what `user` must do before any other page in this session, or None when nothing is due.

    Someone who has a second factor gives a code, whether or not their role requires one; someone
    whose role requires one and has none sets one up. A session verified by a code needs nothing more
    (django-otp's middleware drops the verification when its device is removed).
    """
    if not user.is_authenticated or getattr(user, "is_verified", lambda: False)():
        return None
    if second_factor_enabled(user):
        return Due.VERIFY
    if second_factor_required(user):
        return Due.ENROL
    return None
