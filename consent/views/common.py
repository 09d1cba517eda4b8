"""What every consent page shares: the signed-in person, refusal pages, and the dashboard's way back."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.errors import ApplicationError, Conflict
from portal.models import User

from .. import selectors
from ..models import ConsentGrant
from ..services import AuthorisationRefused


def user_of(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def refused(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    """Show a refusal (someone else's link or grant, a tampered form) as an error page with its status."""
    return render(
        request,
        "errors/error.html",
        {"title": "We could not do that", "message": error.message, "status": error.status},
        status=error.status,
    )


def after_action(request: HttpRequest, action: Any, success: str) -> HttpResponse:
    """Run a service call for a dashboard button and come back to the dashboard with what happened."""
    try:
        action()
    except AuthorisationRefused as error:
        return refused(request, error)
    except Conflict as error:
        messages.info(request, error.message)
        return redirect("consent:dashboard")
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("consent:dashboard")
    messages.success(request, success)
    return redirect("consent:dashboard")


def grant_or_404(request: HttpRequest, grant_id: int) -> ConsentGrant:
    # Someone else's id answers exactly as an id that does not exist: nothing to learn by probing.
    grant = selectors.grant_for_user(user=user_of(request), pk=grant_id)
    if grant is None:
        raise Http404("No such permission.")
    return grant
