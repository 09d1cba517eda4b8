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
    rows = UserSession.objects.filter(user=user, session__expire_date__gt=now).order_by("-last_seen", "-pk")
    active = [
        ActiveSession(
            row=row,
            this_device=row.session_id == current_key,
            ends_at=session_ends_at(row.kind, signed_in_at=row.created, last_seen=row.last_seen),
        )
        for row in rows
        if row.session_id == current_key
        or session_ending(row.kind, signed_in_at=row.created, last_seen=row.last_seen, now=now) is None
    ]
    return sorted(active, key=lambda item: not item.this_device)
