"""The lockout: 10 tries per account and per address in 30 minutes, for sign-in, codes, resets and sign-ups.

Sign-in (the portal's page and the admin's) and second-factor codes count *failures* through
django-axes and its database handler, so the count holds across processes: a wrong password or code
is Django's `user_login_failed`, which axes records; its backend refuses a locked account or address
before the password is checked. Password reset requests and sign-ups count every *request* (each
one sends an email) in the shared cache. Every one of those paths calls this module, and every
refusal is the same `LockedOut` error: code `locked_out`, the time to try again, what to do meanwhile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from compliance.audit import audit_append
from portal.errors import ApplicationError, PermissionDenied

from .models import User
from .requests import client_ip

# What counts every request rather than failures; staff lifting a lockout clear these counts too.
COUNTED_ACTIONS = ("password_reset", "sign_up")


def failure_limit() -> int:
    """Return how many tries an account or an address gets per window."""
    return int(settings.AXES_FAILURE_LIMIT)


def window() -> timedelta:
    """Return how long tries are counted, and how long a lockout lasts after the last one."""
    cool_off = settings.AXES_COOLOFF_TIME
    assert isinstance(cool_off, timedelta)
    return cool_off


class LockedOut(ApplicationError):
    """Too many tries for this account or from this address: wait until `until`."""

    status = 429
    code = "locked_out"

    def __init__(self, until: datetime) -> None:
        self.until = until
        at = timezone.localtime(until, timezone.get_fixed_timezone(0)).strftime("%H:%M")
        super().__init__(
            f"Too many tries. For your safety, trying is paused for this account or from this address until {at} UTC "
            f"(in about {minutes_left(until)} minutes). Try again after that. If you have forgotten your password, "
            "reset it then; if you think someone else is trying to get in, tell platform staff, who can also "
            "lift the pause."
        )


def minutes_left(until: datetime) -> int:
    """Return the whole minutes until `until`, at least 1."""
    return max(1, -int(-(until - timezone.now()).total_seconds() // 60))


def normalise_username(value: object) -> str:
    """Return an attempted sign-in name as counted: an email address, trimmed and lower-cased."""
    return str(value or "").strip().lower()[:254]


def attempted_username(request: HttpRequest | None, credentials: dict[str, Any] | None = None) -> str:
    """Return the account a sign-in attempt was for (`AXES_USERNAME_CALLABLE`), so that case never splits a count."""
    if credentials and (credentials.get("username") or credentials.get("email")):
        return normalise_username(credentials.get("username") or credentials.get("email"))
    if request is not None and request.method == "POST":
        return normalise_username(request.POST.get("username"))
    return ""


# --- Sign-in and codes: failures, counted by django-axes in the database -----------------------


class LockoutBackend(AxesStandaloneBackend):
    """axes' backend, first in AUTHENTICATION_BACKENDS: refuses a locked account or address before the password.

    Every web sign-in passes its request (the sign-in forms insist); code with no request, like the
    test client's `login()` or a shell, has no address to count and is checked by the next backend alone.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def _advisory_key(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"portal.lockout:{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def serialized(request: HttpRequest, *, username: str) -> Iterator[None]:
    """Check one password or code at a time per account and per address, until its failure is counted.

    Without this, 50 parallel tries would all pass the check before any failure was counted. On
    PostgreSQL a transaction-scoped advisory lock per account and per address (taken in one order, so
    two tries cannot wait on each other); SQLite's immediate transactions already run one at a time.
    """
    account, address = normalise_username(username), client_ip(request) or ""
    keys = sorted({_advisory_key("account", account), _advisory_key("ip", address)})
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for key in keys:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
        yield


def locked_until(request: HttpRequest, *, username: str) -> datetime | None:
    """Return when the lockout on this account or this address ends, or None when neither is locked."""
    since = timezone.now() - window()
    ends: list[datetime] = []
    for where in ({"username": normalise_username(username)}, {"ip_address": client_ip(request)}):
        if not next(iter(where.values())):
            continue
        counted = AccessAttempt.objects.filter(**where, attempt_time__gte=since).aggregate(
            failures=Sum("failures_since_start"), last=Max("attempt_time")
        )
        if (counted["failures"] or 0) >= failure_limit() and counted["last"] is not None:
            ends.append(counted["last"] + window())
    return max(ends) if ends else None


def lockout_check(request: HttpRequest, *, username: str) -> None:
    """Raise LockedOut when this account or this address may not try a password or code now."""
    if AxesProxyHandler.is_allowed(request, {"username": normalise_username(username)}):
        return
    raise LockedOut(locked_until(request, username=username) or timezone.now() + window())


def lockout_record_failure(request: HttpRequest, *, username: str) -> None:
    """Count a refused code like a wrong password: axes records it, the audit receiver puts it on the trail."""
    user_login_failed.send(sender=__name__, credentials={"username": normalise_username(username)}, request=request)


# --- Reset requests and sign-ups: every request, counted in the shared cache -------------------


def _count_key(action: str, kind: str, value: str) -> str:
    return f"lockout:{action}:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _take(key: str) -> tuple[int, datetime]:
    """Count one request under `key` in the current window; return the count and when the window ends."""
    now = timezone.now()
    seconds = int(window().total_seconds())
    cache.add(f"{key}:since", now.timestamp(), timeout=seconds)
    cache.add(key, 0, timeout=seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request opens a new window
        cache.set(key, 1, timeout=seconds)
        count = 1
    since = cache.get(f"{key}:since") or now.timestamp()
    return count, datetime.fromtimestamp(float(since), tz=now.tzinfo) + window()


def lockout_count(request: HttpRequest, *, action: str, username: str) -> None:
    """Count one request (`password_reset`, `sign_up`) per account and address; raise LockedOut past the limit."""
    ends: list[datetime] = []
    for kind, value in (("account", normalise_username(username)), ("ip", client_ip(request) or "")):
        if not value:
            continue
        count, until = _take(_count_key(action, kind, value))
        if count > failure_limit():
            ends.append(until)
    if ends:
        raise LockedOut(max(ends))


# --- The answer a locked-out person gets -------------------------------------------------------


def wants_json(request: HttpRequest) -> bool:
    """Return True when the caller asked for JSON rather than a page."""
    accept = request.headers.get("Accept", "")
    return (
        request.path.startswith("/api/")
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
        or ("application/json" in accept and "text/html" not in accept)
    )


def locked_out_response(request: HttpRequest, error: LockedOut) -> HttpResponse:
    """Return the 429 page (or JSON error envelope) that says until when, and what to do meanwhile."""
    from .api.exceptions import error_body

    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(error_body(error.code, error.message), status=error.status)
    else:
        context = {"message": error.message, "until": error.until, "minutes": minutes_left(error.until)}
        response = render(request, "registration/locked_out.html", context, status=error.status)
    response["Retry-After"] = str(max(1, int((error.until - timezone.now()).total_seconds())))
    return response


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """Answer a sign-in that axes refused (`AXES_LOCKOUT_CALLABLE`)."""
    username = attempted_username(request, credentials)
    until = locked_until(request, username=username) or timezone.now() + window()
    return locked_out_response(request, LockedOut(until))


# --- Staff lift a lockout ----------------------------------------------------------------------


def lockout_clear(*, attempt: AccessAttempt, actor: Any, ip: str | None = None) -> None:
    """Forget the counted tries of one account and address, so they may try again now (platform staff)."""
    if not (isinstance(actor, User) and actor.is_active and actor.has_role(User.Role.PLATFORM_STAFF)):
        raise PermissionDenied("Only platform staff can lift a lockout.")
    username = normalise_username(attempt.username)
    with transaction.atomic():
        audit_append(
            action="auth.lockout_clear",
            actor=actor,
            target=User.objects.filter(email__iexact=username).first() if username else None,
            data={"email": username, "address": attempt.ip_address or "", "failures": attempt.failures_since_start},
            ip=ip,
        )
        attempt.delete()
    keys = [_count_key(action, "account", username) for action in COUNTED_ACTIONS if username]
    keys += [_count_key(action, "ip", attempt.ip_address) for action in COUNTED_ACTIONS if attempt.ip_address]
    cache.delete_many(keys + [f"{key}:since" for key in keys])
