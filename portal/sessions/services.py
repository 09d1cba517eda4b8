"""Writes to signed-in sessions: starting one, noting activity, keeping it through a new key, and ending them.

A session's own data carries what its limits count from (`STATE_KEY`), so checking them costs no
query; the `UserSession` row beside it is what the sessions page lists and what ending all of a
person's sessions finds. Ending goes through the session engine, so a cached engine forgets them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from compliance.audit import audit_append
from portal.errors import NotFound
from portal.models import User, UserSession
from portal.requests import client_ip, user_agent

from .devices import device_summary
from .policy import LIMITS, Ending, kind_now, session_kind

SWEEP_BATCH = 5000  # sessions one sweep ends at most; the next sweep takes the rest
STATE_KEY = "portal_session"  # {"kind", "since", "seen"}: the kind and two times as Unix seconds


class Reason:
    """Why sessions were ended, as written to the trail (`auth.sessions_ended`)."""

    SIGNED_OUT = "signed_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a reason, not a password)
    PASSWORD_RESET = "password_reset"  # noqa: S105
    DEACTIVATED = "deactivated"
    SIGNED_OUT_ELSEWHERE = "signed_out_elsewhere"
    SIGNED_OUT_ONE = "signed_out_one"


@dataclass(frozen=True)
class SessionState:
    """What a session's limits count from: its kind, when it was signed in, when it was last active."""

    kind: UserSession.Kind
    signed_in_at: datetime
    last_seen: datetime


def state_of(session: SessionBase) -> SessionState | None:
    """Return the state kept in `session`, or None when it has none (or one this code cannot read)."""
    raw: Any = session.get(STATE_KEY)
    try:
        return SessionState(
            kind=UserSession.Kind(raw["kind"]),
            signed_in_at=datetime.fromtimestamp(raw["since"], tz=UTC),
            last_seen=datetime.fromtimestamp(raw["seen"], tz=UTC),
        )
    except (TypeError, KeyError, ValueError):
        return None


def _store(request: HttpRequest, user: User, state: SessionState) -> None:
    """Write `state` into the session, set its cookie's lifetime, and write its row."""
    session = request.session
    session[STATE_KEY] = {
        "kind": state.kind.value,
        "since": int(state.signed_in_at.timestamp()),
        "seen": int(state.last_seen.timestamp()),
    }
    limits = LIMITS[state.kind]
    session.set_expiry(0 if limits.until_browser_closes else state.signed_in_at + limits.total)
    if session.session_key is None:
        session.save()  # login() after a flush leaves no key yet; the row needs one
    UserSession.objects.update_or_create(
        session_id=session.session_key,
        defaults={
            "user": user,
            "kind": state.kind,
            "created": state.signed_in_at,
            "last_seen": state.last_seen,
            "device": device_summary(user_agent(request)),
            "ip": client_ip(request),
        },
    )


def session_begin(*, request: HttpRequest, user: User, keep_signed_in: bool = False) -> SessionState:
    """Start the limits of a session `user` just signed in to (kept signed in only if they chose it and may)."""
    now = timezone.now().replace(microsecond=0)
    state = SessionState(kind=session_kind(user, keep_signed_in=keep_signed_in), signed_in_at=now, last_seen=now)
    _store(request, user, state)
    return state


def session_touch(*, request: HttpRequest, user: User, state: SessionState, now: datetime) -> None:
    """Note activity in this session now (callers do so at most once a minute); a new role tightens its kind."""
    updated = SessionState(kind=kind_now(state.kind, user), signed_in_at=state.signed_in_at, last_seen=now)
    _store(request, user, updated)


def session_rekeyed(*, request: HttpRequest, user: User) -> None:
    """Give this session's row its new key (after `cycle_key`: the old key's row went with the old key)."""
    state = state_of(request.session)
    if state is not None and not UserSession.objects.filter(session_id=request.session.session_key).exists():
        _store(request, user, state)


def session_expire(*, request: HttpRequest, user: User, state: SessionState, ending: Ending) -> None:
    """End this session because it passed its limit (only this one: the person's other sessions go on)."""
    with transaction.atomic():
        audit_append(
            action="auth.session_expired",
            actor=user,
            target=user,
            data={"reason": ending.value, "kind": state.kind.value},
            ip=client_ip(request),
        )
        request.session.flush()
    request.user = AnonymousUser()


def _session_store() -> SessionBase:
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore()
    return store


def sessions_end(
    *, user: User, reason: str, keep_key: str | None = None, actor: Any = None, ip: str | None = None
) -> int:
    """End every session of `user` (but the one keyed `keep_key`, if given) and return how many ended."""
    with transaction.atomic():
        keys = list(
            UserSession.objects.filter(user=user)
            .exclude(session_id=keep_key or "")
            .select_for_update()
            .values_list("session_id", flat=True)
        )
        store = _session_store()
        for key in keys:
            store.delete(key)
        if keys:
            audit_append(
                action="auth.sessions_ended",
                actor=actor if actor is not None else user,
                target=user,
                data={"reason": reason, "count": len(keys)},
                ip=ip,
            )
    return len(keys)


def sessions_sweep(*, now: datetime) -> int:
    """End every session past its limits that has not been back since, and return how many.

    Housekeeping, like Django's `clearsessions`: such a session would end at its next request anyway
    (and is audited then); this keeps the tables small and the person's sessions page exact.
    """
    over = Q()
    for kind, limits in LIMITS.items():
        past = Q(created__lte=now - limits.total)
        if limits.idle is not None:
            past |= Q(last_seen__lte=now - limits.idle)
        over |= Q(kind=kind) & past
    keys = list(UserSession.objects.filter(over).values_list("session_id", flat=True)[:SWEEP_BATCH])
    store = _session_store()
    for key in keys:
        store.delete(key)
    return len(keys)


def session_end(*, user: User, session_id: int, current_key: str | None, ip: str | None = None) -> None:
    """End one of `user`'s other sessions, named by its row's id (this device's is ended by signing out)."""
    with transaction.atomic():
        row = (
            UserSession.objects.filter(user=user, pk=session_id)
            .exclude(session_id=current_key or "")
            .select_for_update()
            .first()
        )
        if row is None:
            raise NotFound(
                "That session has ended already, or it is this device's. Reload the page to see your sessions.",
                code="session_not_found",
            )
        _session_store().delete(row.session_id)
        audit_append(
            action="auth.sessions_ended",
            actor=user,
            target=user,
            data={"reason": Reason.SIGNED_OUT_ONE, "count": 1},
            ip=ip,
        )
