"""The support lookup page for platform staff."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from .forms import SupportLookupForm
from .lookup import lookup_summary, support_lookup


@role_required(User.Role.PLATFORM_STAFF)
@never_cache
@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    """Ask for an email and a reason; show that person's links, grants and recent deliveries, read-only.

    The email travels in the POST body, never in the address, so it stays out of access logs.
    """
    form = SupportLookupForm(request.POST if request.method == "POST" else None)
    context: dict[str, object] = {"form": form, "searched": False}
    if request.method == "POST" and form.is_valid():
        actor = request.user
        assert isinstance(actor, User)
        found = support_lookup(
            actor=actor, email=form.cleaned_data["email"], reason=form.cleaned_data["reason"], ip=client_ip(request)
        )
        context.update(searched=True, found=found, summary=lookup_summary(found) if found else None)
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render(request, "support/lookup.html", context, status=status)
