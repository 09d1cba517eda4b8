"""Writes to people: sign-up, passwords, role changes and deactivation, each one audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from compliance.audit import Actor, audit_append
from portal.errors import ApplicationError, Conflict, PermissionDenied

from .models import COMPLIANCE_STAFF_GROUP, PLATFORM_STAFF_GROUP, User
from .sessions.services import Reason, sessions_end


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


def user_sign_up_request(*, email: str, password: str, full_name: str = "", ip: str | None = None) -> None:
    """Start a sign-up from the public form: the answer is the same whether or not the address has an account.

    A new address gets an inactive account and a link to confirm it; an address that has an account
    gets an email saying so (its account untouched); one that signed up and never confirmed gets the
    account replaced by this attempt, and a new link (the old one stops working). Emails leave after commit.
    """
    from . import account_mail

    try:
        _sign_up_request(email=email, password=password, full_name=full_name, ip=ip, mail=account_mail)
    except IntegrityError:
        return  # the same new address, signed up twice at once: the other request sends the link


def _sign_up_request(*, email: str, password: str, full_name: str, ip: str | None, mail: Any) -> None:
    account_mail = mail
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(email__iexact=email).first()
        if existing is not None and not existing.awaiting_confirmation:
            make_password(password)  # the same work as a new account, so timing tells nothing either
            audit_append(action="user.sign_up_existing", actor=Actor.system("anonymous"), target=existing, ip=ip)
            account_mail.send_already_have_an_account(existing)
            return
        if existing is not None:
            existing.full_name = full_name
            existing.set_password(password)
            existing.full_clean(exclude=["password"])
            existing.save(update_fields=["full_name", "password"])
            user = existing
        else:
            user = User.objects.create_user(
                email=email, password=password, full_name=full_name, is_active=False, awaiting_confirmation=True
            )
        audit_append(action="user.sign_up", actor=Actor.system("anonymous"), target=user, ip=ip)
        account_mail.send_sign_up_confirmation(user)


def user_confirm_sign_up(*, user: User, password: str, ip: str | None = None) -> User:
    """Open the account whose emailed link was followed (its view checked the token), if `password` is the
    one chosen at sign-up, and return it."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.awaiting_confirmation:
            raise ApplicationError(
                "This link was already used or has expired. Sign in, or create your account again.", code="link_used"
            )
        if not user.check_password(password):
            raise ApplicationError(
                "That is not the password chosen when this account was started. If you forgot it, or did not "
                "start it yourself, create your account again: the new link will ask for your new password.",
                code="password_mismatch",
                fields={"password": ["Not the password chosen at sign-up."]},
            )
        user.is_active = True
        user.awaiting_confirmation = False
        user.save(update_fields=["is_active", "awaiting_confirmation"])
        audit_append(action="user.sign_up_confirm", actor=user, target=user, ip=ip)
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


def _set_password(
    *, user: User, password: str, action: str, reason: str, ip: str | None, keep_session_key: str | None = None
) -> User:
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        # The entry says that it changed, never what to: `data` stays empty on purpose.
        audit_append(action=action, actor=user, target=user, ip=ip)
        # Whoever had the old password may be signed in somewhere: those sessions end with it.
        sessions_end(user=user, reason=reason, keep_key=keep_session_key, ip=ip)
    return user


def user_change_password(
    *, user: User, password: str, ip: str | None = None, keep_session_key: str | None = None
) -> User:
    """Give a signed-in person the new password they chose (their form checked the old one).

    Every other session of theirs ends; the one they changed it in (`keep_session_key`) goes on,
    under a new key that the password view gives it.
    """
    return _set_password(
        user=user,
        password=password,
        action="account.password_change",
        reason=Reason.PASSWORD_CHANGED,
        ip=ip,
        keep_session_key=keep_session_key,
    )


def user_reset_password(*, user: User, password: str, ip: str | None = None) -> User:
    """Give a person the new password they chose through an emailed reset link, ending all their sessions."""
    return _set_password(
        user=user, password=password, action="account.password_reset", reason=Reason.PASSWORD_RESET, ip=ip
    )


def user_deactivate(*, user: User, actor: Any, ip: str | None = None) -> User:
    """Stop a person from signing in while keeping their account, grants and history (platform staff).

    People are never deleted: the trail, consent receipts and bank records keep pointing at them.
    Every session of theirs ends at once (and the sign-in backend refuses inactive accounts anyway).
    """
    if not (isinstance(actor, User) and actor.is_active and actor.has_role(User.Role.PLATFORM_STAFF)):
        raise PermissionDenied("Only platform staff can deactivate people.")
    if actor.pk == user.pk:
        raise ApplicationError(
            "You cannot deactivate your own account. Ask another member of platform staff.", code="self_deactivation"
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active or user.awaiting_confirmation:
            user.is_active = False
            user.awaiting_confirmation = False  # an unconfirmed sign-up's link must not reopen it
            user.save(update_fields=["is_active", "awaiting_confirmation"])
            audit_append(action="user.deactivate", actor=actor, target=user, ip=ip)
        sessions_end(user=user, reason=Reason.DEACTIVATED, actor=actor, ip=ip)
    return user
