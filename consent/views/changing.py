"""Changing a permission: renewing it on the current wording, switching some of its messages off."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from .. import selectors, services
from ..forms import NarrowForm, RenewForm
from .common import after_action, grant_or_404, user_of


@role_required(User.Role.END_USER)
@require_http_methods(["GET", "POST"])
def grant_renew(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Show the current wording of a permission and renew it from today."""
    user = user_of(request)
    if request.method == "POST":
        grant = grant_or_404(request, grant_id)
        form = RenewForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The form was changed. Read the permission again and renew it.")
            return redirect("consent:grant-renew", grant_id=grant_id)
        version_id = form.cleaned_data["scope_version"]
        return after_action(
            request,
            lambda: services.consent_renew(grant=grant, actor=user, scope_version_id=version_id, ip=client_ip(request)),
            "Permission renewed. Its new end date and receipt are below.",
        )
    shown = selectors.grant_for_user(user=user, pk=grant_id)
    if shown is None:
        raise Http404("No such permission.")
    current = shown.scope.published_version
    days = current.max_duration_days if current else 0
    return render(
        request,
        "consent/renew.html",
        {
            "grant": shown,
            "version": current,
            "new_expiry": timezone.now() + timedelta(days=days),
            "form": RenewForm(initial={"scope_version": current.pk if current else None}),
        },
    )


@role_required(User.Role.END_USER)
@require_POST
def grant_narrow(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Switch some of a permission's message types off."""
    grant = grant_or_404(request, grant_id)
    form = NarrowForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose from the messages this permission allows.")
        return redirect("consent:dashboard")
    return after_action(
        request,
        lambda: services.consent_narrow(
            grant=grant, message_types=form.cleaned_data["message_types"], actor=user_of(request), ip=client_ip(request)
        ),
        "Saved. Your bank will no longer send the messages you switched off.",
    )
