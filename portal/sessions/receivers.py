"""Receivers of Django's sign-in signals: a new session starts its limits; signing out ends every session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal.models import User
from portal.requests import client_ip

from .services import Reason, session_begin, sessions_end


def begin_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Start the new session's limits and its row (kept signed in only when the sign-in form says so)."""
    if request is not None and isinstance(user, User) and hasattr(request, "session"):
        session_begin(request=request, user=user)


def end_every_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Signing out on one device signs the person out on all of them (the user is None for an ended session)."""
    if isinstance(user, User):
        sessions_end(user=user, reason=Reason.SIGNED_OUT, ip=client_ip(request))
