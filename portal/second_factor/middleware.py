"""The gate: a signed-in person who owes a code (or an authenticator app) reaches only the second factor's pages."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from portal.models import User

from .rules import Due, second_factor_due

# Paths that answer without the code: the API (bank keys, never sessions), /healthz and static files.
OPEN_PREFIXES = ("/api/", "/healthz")


class SecondFactorMiddleware:
    """Send a signed-in person to the code page (or to set up an app) until this session gave a code.

    Runs after django-otp's `OTPMiddleware`, which tells whether the session is verified. Only the
    second factor's own pages and sign-out stay open; the admin is closed like any other page (and
    its site asks for a verified session as well).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(OPEN_PREFIXES) or path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return self.get_response(request)
        user = request.user
        if not (isinstance(user, User) and user.is_authenticated):
            return self.get_response(request)
        open_paths = {
            reverse("logout"),
            reverse("second_factor:verify"),
            reverse("second_factor:set-up"),
        }
        if path in open_paths:
            return self.get_response(request)
        due = second_factor_due(user)
        if due is None:
            return self.get_response(request)
        target = reverse("second_factor:verify" if due is Due.VERIFY else "second_factor:set-up")
        if request.method == "GET" and path != reverse("home"):
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
