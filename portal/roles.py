"""Decorators and mixins that let a page in only for the roles it serves."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .models import User

View = Callable[..., HttpResponseBase]  # a page, or a streamed download


def role_required(*roles: User.Role) -> Callable[[View], View]:
    """Send anonymous people to sign in, and refuse (403) people without one of `roles`."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            assert isinstance(user, User)
            if not any(user.has_role(role) for role in roles):
                raise PermissionDenied("This page is for another kind of account.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
