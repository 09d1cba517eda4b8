"""The undo rule: for a few minutes a person may take back their own withdrawal, as a new grant on the same wording."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from .models import ConsentGrant


def undo_window() -> timedelta:
    """Return how long after a withdrawal the person may undo it (setting `CONSENT_UNDO_MINUTES`, default 5)."""
    return timedelta(minutes=getattr(settings, "CONSENT_UNDO_MINUTES", 5))


def undo_deadline(grant: ConsentGrant) -> datetime | None:
    """Return until when `grant`'s withdrawal may be undone, or None when it was not withdrawn."""
    return grant.revoked_at + undo_window() if grant.revoked_at else None


def undoable(grant: ConsentGrant, *, now: datetime) -> bool:
    """Return True when the person withdrew `grant` themselves, moments ago, and its term has not run out.

    A withdrawal by the bank, the platform or compliance is not the person's to undo, and an unlinked
    account needs the bank's own sign-in again, so neither is offered.
    """
    deadline = undo_deadline(grant)
    return (
        grant.status == ConsentGrant.Status.REVOKED
        and grant.revoked_by == ConsentGrant.RevokedBy.USER
        and deadline is not None
        and now < deadline
        and grant.expires_at > now
    )
