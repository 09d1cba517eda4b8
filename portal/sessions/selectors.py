"""Reads of signed-in sessions: a person's own, still within their limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.models import User, UserSession

from .policy import session_ending, session_ends_at


@dataclass(frozen=True)
class ActiveSession:
    """One of a person's sessions as their sessions page shows it."""

    row: UserSession
    this_device: bool
    ends_at: datetime


def sessions_active_for(*, user: User, current_key: str | None, now: datetime) -> list[ActiveSession]:
    """Return `user`'s sessions that have not passed their limits, this device's first, then the latest active."""
    active: list[ActiveSession] = []
    rows = UserSession.objects.filter(user=user, session__expire_date__gt=now).order_by("-last_seen", "-pk")
    for row in rows:
        kind, this_device = UserSession.Kind(row.kind), row.session_id == current_key
        # A session past its limits ends at its next request; until then it is not shown as signed in.
        if this_device or session_ending(kind, signed_in_at=row.created, last_seen=row.last_seen, now=now) is None:
            ends_at = session_ends_at(kind, signed_in_at=row.created, last_seen=row.last_seen)
            active.append(ActiveSession(row=row, this_device=this_device, ends_at=ends_at))
    return sorted(active, key=lambda item: not item.this_device)
