"""Writes to a person's second factor: enrolment, verification, recovery codes, removal, staff resets; all audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.audit import audit_append
from portal.errors import ApplicationError, PermissionDenied
from portal.models import RecoveryCode, RecoveryCodeDevice, User

from . import totp
from .rules import second_factor_enabled, second_factor_required

RECOVERY_CODE_COUNT = 10
# No 0/o, 1/i/l: people copy these by hand. 16 characters of 31 carry about 79 bits.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 16
APP_NAME = "Authenticator app"


@dataclass(frozen=True)
class Enrolment:
    """A new authenticator app and the recovery codes that came with it (shown once, never stored in clear)."""

    device: TOTPDevice
    recovery_codes: list[str]


def _wrong_code(message: str) -> ApplicationError:
    return ApplicationError(message, code="wrong_code", fields={"code": [message]})


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def _replace_recovery_codes(user: User) -> list[str]:
    """Give `user` a new set of recovery codes in place of any earlier set, and return them (inside a transaction).

    The device stays, so that a session a recovery code verified stays verified.
    """
    device, _ = RecoveryCodeDevice.objects.get_or_create(user=user, defaults={"name": "Recovery codes"})
    device.codes.all().delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(RecoveryCode(device=device, digest=device.digest_of(code)) for code in codes)
    return codes


def _enrol(*, user: User, key: str, last_t: int, actor: Any, ip: str | None) -> Enrolment:
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one enrolment of a person at a time
        replaced = TOTPDevice.objects.filter(user=user).exists()
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name=APP_NAME, key=key, confirmed=True, last_t=last_t)
        codes = _replace_recovery_codes(user)
        audit_append(
            action="otp.enrolled",
            actor=actor,
            target=user,
            data={"replaced": replaced, "recovery_codes": len(codes)},
            ip=ip,
        )
    return Enrolment(device, codes)


def second_factor_enrol(*, user: User, key: str, code: str, ip: str | None = None) -> Enrolment:
    """Give `user` the authenticator app holding `key`, proven by its `code`, with new recovery codes.

    An earlier app and its recovery codes stop working: this is also how a person replaces a lost phone.
    The code that proved the app is used up, like any code.
    """
    step = totp.matching_step(key, code)
    if step is None:
        audit_append(action="otp.enrol_failed", actor=user, target=user, ip=ip)
        raise _wrong_code(
            "The code does not match. Check that you added the key shown on this page, "
            "then enter the code your app shows now."
        )
    return _enrol(user=user, key=key, last_t=step, actor=user, ip=ip)


def second_factor_enrol_demo(*, user: User, key: str, actor: Any) -> bool:
    """Give a demo login the authenticator app with the demo's published `key`; return False when it has it already.

    For `seed_demo` only: the key is printed for anyone to use, so no real account may have it.
    """
    if TOTPDevice.objects.filter(user=user, key=key, confirmed=True).exists():
        return False
    _enrol(user=user, key=key, last_t=-1, actor=actor, ip=None)
    return True


def second_factor_verify(*, user: User, code: str, ip: str | None = None) -> Device:
    """Return the device that accepts `code` for `user`: their app's code, or one unused recovery code.

    Every code works once (the app's device keeps the last step it accepted). Wrong codes count
    towards the device's throttle; both outcomes are on the trail.
    """
    compact = "".join(code.split())
    kind = "totp" if compact.isdigit() and len(compact) <= 8 else "recovery_code"
    refusal: ApplicationError | None = None
    with transaction.atomic():
        model: type[TOTPDevice] | type[RecoveryCodeDevice] = TOTPDevice if kind == "totp" else RecoveryCodeDevice
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            refusal = _wrong_code("The code is not right. Enter the code your app shows now.")
        else:
            allowed, details = device.verify_is_allowed()
            if not allowed:
                until = (details or {}).get("locked_until")
                wait = f"until {timezone.localtime(until):%H:%M:%S}" if until else "a minute"
                message = f"You entered too many wrong codes. Wait {wait}, then enter the code your app shows now."
                refusal = ApplicationError(message, code="too_many_attempts", fields={"code": [message]}, status=429)
            elif not device.verify_token(compact):
                refusal = _wrong_code(
                    "The code is not right, or it was used already. Enter the code your app shows now, "
                    "or one of your recovery codes."
                )
        audit_append(
            action="otp.verified" if refusal is None else "otp.verify_failed",
            actor=user,
            target=user,
            data={"device": kind, **({"reason": refusal.code} if refusal else {})},
            ip=ip,
        )
    if refusal is not None:
        raise refusal
    assert device is not None
    return device


def recovery_codes_regenerate(*, user: User, ip: str | None = None) -> list[str]:
    """Give `user` new recovery codes and return them; the earlier ones stop working."""
    with transaction.atomic():
        if not second_factor_enabled(user):
            raise ApplicationError(
                "You have no second factor yet. Set up an authenticator app first.", code="no_second_factor"
            )
        codes = _replace_recovery_codes(user)
        audit_append(action="otp.recovery_codes_regenerated", actor=user, target=user, ip=ip)
    return codes


def _delete_devices(user: User) -> int:
    return TOTPDevice.objects.filter(user=user).delete()[0] + RecoveryCodeDevice.objects.filter(user=user).delete()[0]


def second_factor_remove(*, user: User, ip: str | None = None) -> None:
    """Turn off `user`'s own second factor (end users only: staff and bank members must keep one)."""
    if second_factor_required(user):
        raise PermissionDenied(
            "Your account must have a second factor, so you cannot turn it off. "
            "To use another phone, set up a new authenticator app instead.",
            code="second_factor_required",
        )
    with transaction.atomic():
        if not _delete_devices(user):
            raise ApplicationError("You have no second factor to turn off.", code="no_second_factor")
        audit_append(action="otp.removed", actor=user, target=user, ip=ip)


def second_factor_reset(*, user: User, actor: Any, ip: str | None = None) -> None:
    """Remove another person's second factor after they lost their phone (platform staff).

    Their sessions stop counting as verified at once; at their next sign-in they set up a new app,
    if their role requires one. Check who is asking before doing this: it stands in for their phone.
    """
    if not (isinstance(actor, User) and actor.is_active and actor.has_role(User.Role.PLATFORM_STAFF)):
        raise PermissionDenied("Only platform staff can reset a person's second factor.")
    if actor.pk == user.pk:
        raise ApplicationError(
            "You cannot reset your own second factor. Ask another member of platform staff.", code="self_reset"
        )
    with transaction.atomic():
        if not _delete_devices(user):
            raise ApplicationError(f"{user.email} has no second factor to reset.", code="no_second_factor")
        audit_append(action="otp.reset", actor=actor, target=user, ip=ip)
