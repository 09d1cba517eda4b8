"""Applies the session policy on every request: ends a session past its limits, notes activity, follows new keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone

from portal.models import User

from .policy import ending_message, session_ending, touch_due
from .services import session_begin, session_expire, session_rekeyed, session_touch, state_of

# Bank keys call the API (never sessions), /healthz is for probes: no session limits apply there.
OPEN_PREFIXES = ("/api/", "/healthz")
PASSIVE_ATTRIBUTE = "session_passive"


def passive(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that a page calls by itself (a poll): its requests do not count as the person's activity."""
    setattr(view, PASSIVE_ATTRIBUTE, True)
    return view


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


class SessionPolicyMiddleware:
    """End a signed-in session that passed its limits (`portal.sessions.policy`) and send the person to sign in.

    Runs after the message middleware (the reason is shown on the sign-in page) and before the second
    factor's gate. Activity is written at most once a minute, in `process_view`, where a page's own
    polling (views marked `passive`) can be told from the person. When a view gave the session a new
    key (the second factor, a password change), the session's row follows it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(OPEN_PREFIXES) or path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return self.get_response(request)
        user = request.user
        if isinstance(user, User) and user.is_authenticated:
            refused = self._refuse_if_over(request, user)
            if refused is not None:
                return refused
        key = request.session.session_key
        response = self.get_response(request)
        user = request.user
        new_key = request.session.session_key
        if key is not None and new_key not in (None, key) and isinstance(user, User) and user.is_authenticated:
            session_rekeyed(request=request, user=user)
        return response

    def _refuse_if_over(self, request: HttpRequest, user: User) -> HttpResponse | None:
        state = state_of(request.session)
        if state is None:
            # A session from before these limits (or signed in without `login()`): its limits start now.
            session_begin(request=request, user=user)
            return None
        now = timezone.now()
        ending = session_ending(state.kind, signed_in_at=state.signed_in_at, last_seen=state.last_seen, now=now)
        if ending is None:
            return None
        session_expire(request=request, user=user, state=state, ending=ending)
        message = ending_message(state.kind, ending)
        messages.info(request, message)  # shown on the sign-in page, also after a script's reload
        if _wants_json(request):
            body = {"error": {"code": "session_ended", "message": message, "fields": {}}}
            return JsonResponse(body, status=401)
        if request.method == "GET":
            return redirect_to_login(request.get_full_path())
        return redirect(settings.LOGIN_URL)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not (isinstance(user, User) and user.is_authenticated) or getattr(view, PASSIVE_ATTRIBUTE, False):
            return None
        if request.path_info.startswith(OPEN_PREFIXES):
            return None
        state = state_of(request.session)
        now = timezone.now().replace(microsecond=0)
        if state is not None and touch_due(state.last_seen, now):
            session_touch(request=request, user=user, state=state, now=now)
        return None
