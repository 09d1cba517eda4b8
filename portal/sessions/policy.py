"""How long a signed-in session lasts, by who is signed in and what they chose: that rule's one home.

Staff (platform and compliance) and every bank member act for many people: their sessions end after
15 minutes without activity and 12 hours in all, and when the browser closes. End users choose at
sign-in: "Keep me signed in" (off unless ticked) keeps them signed in on that device for 2 weeks;
otherwise the session ends when the browser closes, after 1 hour without activity, and 12 hours in
all (browsers that restore tabs keep "until closed" cookies alive, so the server caps those too).
Every function takes the times it judges, so tests move time by passing it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.models import User, UserSession

Kind = UserSession.Kind

# Whoever acts for the platform or for a bank: their sessions are short whatever they tick.
STRICT_ROLES = frozenset({User.Role.PLATFORM_STAFF, User.Role.COMPLIANCE_STAFF, User.Role.PARTNER_MEMBER})
# Activity is written down at most this often, so an idle limit may end a session up to this much early.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Limits:
    """How long a session of one kind may last: without activity (None: no idle limit), and in all."""

    idle: timedelta | None
    total: timedelta
    until_browser_closes: bool


LIMITS: dict[UserSession.Kind, Limits] = {
    Kind.STRICT: Limits(idle=timedelta(minutes=15), total=timedelta(hours=12), until_browser_closes=True),
    Kind.KEPT: Limits(idle=None, total=timedelta(days=14), until_browser_closes=False),
    Kind.BROWSER: Limits(idle=timedelta(hours=1), total=timedelta(hours=12), until_browser_closes=True),
}


class Ending(enum.Enum):
    """Why a session is over; the value is the stable code written to the trail."""

    IDLE = "idle"
    TOTAL = "total"


def session_kind(user: User, *, keep_signed_in: bool = False) -> UserSession.Kind:
    """Return the kind of session `user` gets: strict for staff and bank members, else what they chose."""
    if user.roles & STRICT_ROLES:
        return Kind.STRICT
    return Kind.KEPT if keep_signed_in else Kind.BROWSER


def kind_now(kind: UserSession.Kind, user: User) -> UserSession.Kind:
    """Return the kind a running session has now: someone who became staff or a bank member gets the strict one."""
    return Kind.STRICT if user.roles & STRICT_ROLES else kind


def session_ending(
    kind: UserSession.Kind, *, signed_in_at: datetime, last_seen: datetime, now: datetime
) -> Ending | None:
    """Return why a session of `kind` (signed in at `signed_in_at`, last active at `last_seen`) is over at `now`.

    None means it goes on.
    """
    limits = LIMITS[kind]
    if now - signed_in_at >= limits.total:
        return Ending.TOTAL
    if limits.idle is not None and now - last_seen >= limits.idle:
        return Ending.IDLE
    return None


def session_ends_at(kind: UserSession.Kind, *, signed_in_at: datetime, last_seen: datetime) -> datetime:
    """Return when a session of `kind` ends if nothing more happens in it."""
    limits = LIMITS[kind]
    total_end = signed_in_at + limits.total
    return total_end if limits.idle is None else min(total_end, last_seen + limits.idle)


def touch_due(last_seen: datetime, now: datetime) -> bool:
    """Return True when a session's activity should be written down again (at most once a minute)."""
    return now - last_seen >= TOUCH_EVERY


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes == 60:
        return "an hour"
    if minutes % (60 * 24) == 0:
        days = minutes // (60 * 24)
        return f"{days} day{'s' if days != 1 else ''}" if days != 14 else "2 weeks"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


def ending_message(kind: UserSession.Kind, ending: Ending) -> str:
    """Return the sentence that tells the person why they were signed out and what to do."""
    limits = LIMITS[kind]
    if ending is Ending.IDLE and limits.idle is not None:
        return (
            f"You were signed out after {_span(limits.idle)} without activity, to keep your account safe. "
            "Sign in again to carry on."
        )
    return (
        f"You were signed out {_span(limits.total)} after signing in, to keep your account safe. "
        "Sign in again to carry on."
    )


def limits_in_words() -> dict[str, str]:
    """Return each limit as plain words, for the sign-in form and the sessions page."""
    strict, kept, browser = LIMITS[Kind.STRICT], LIMITS[Kind.KEPT], LIMITS[Kind.BROWSER]
    assert strict.idle is not None
    assert browser.idle is not None
    return {
        "strict": f"Staff and bank accounts are signed out after {_span(strict.idle)} without activity, "
        f"and {_span(strict.total)} after signing in.",
        "browser": f"Other accounts are signed out when the browser closes, after {_span(browser.idle)} without "
        f"activity, or {_span(browser.total)} after signing in.",
        "kept": f'Ticking "Keep me signed in" keeps you signed in on that device for {_span(kept.total)}.',
        "kept_label": f"Keep me signed in on this device for {_span(kept.total)}",
        "kept_hint": f"Only on a device that is yours alone. Otherwise you are signed out when you close the "
        f"browser or after {_span(browser.idle)} without activity. Staff and bank accounts are always signed "
        f"out after {_span(strict.idle)} without activity.",
    }
