"""Linking a bank and choosing what to share with it."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.errors import ApplicationError, Conflict, show_on_form
from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from .. import selectors, services
from ..forms import ConsentForm
from ..services import AuthorisationRefused
from .common import refused, user_of

SESSION_BINDING_KEY = "consent_link_binding"


@role_required(User.Role.END_USER)
@require_POST
def link_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Send the person to the bank's authorisation page with a fresh state and PKCE challenge."""
    user = user_of(request)
    partner = selectors.bank_for_user(user=user, slug=slug)
    if partner is None:
        raise Http404("No such bank to link.")
    binding = request.session.get(SESSION_BINDING_KEY) or secrets.token_urlsafe(32)
    request.session[SESSION_BINDING_KEY] = binding
    try:
        url = services.link_start(user=user, partner=partner, session_binding=binding, ip=client_ip(request))
    except ApplicationError as error:
        return refused(request, error)
    return redirect(url)


@role_required(User.Role.END_USER)
@never_cache
@require_GET
def link_callback(request: HttpRequest) -> HttpResponse:
    """Finish linking when the bank sends the person back with a code (or an error) and the state."""
    try:
        link = services.link_complete(
            user=user_of(request),
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
            session_binding=request.session.get(SESSION_BINDING_KEY, ""),
            ip=client_ip(request),
        )
    except ApplicationError as error:
        return render(request, "consent/link_problem.html", {"error": error}, status=error.status)
    messages.success(
        request, f"Your account {link.account_mask} at {link.partner} is linked. Now choose what to share, if anything."
    )
    return redirect("consent:consent-screen", link_id=link.pk)


@role_required(User.Role.END_USER)
@require_http_methods(["GET", "POST"])
def consent_screen(request: HttpRequest, link_id: int) -> HttpResponse:
    """Show a linked bank's permissions, nothing ticked, and grant what the person ticks."""
    user = user_of(request)
    form = ConsentForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        link = selectors.link_for_user(user=user, pk=link_id)
        if link is None:
            raise Http404("No such account link.")
        if form.is_valid():
            try:
                granted = services.consent_grant(
                    user=user, link=link, choices=form.cleaned_data["choices"], ip=client_ip(request)
                )
            except AuthorisationRefused as error:
                return refused(request, error)
            except Conflict as error:
                if error.code == "already_granted":
                    messages.info(request, error.message)
                    return redirect("consent:dashboard")
                show_on_form(form, error)
                status = error.status
            except ApplicationError as error:
                show_on_form(form, error)
                status = error.status
            else:
                count = len(granted)
                messages.success(
                    request,
                    f"You granted {count} permission{'s' if count != 1 else ''} to {link.partner}. "
                    "Each has a receipt below; you can withdraw any of them at any time.",
                )
                return redirect("consent:dashboard")
        else:
            status = 400
    link = selectors.link_for_user(user=user, pk=link_id)
    if link is None:
        raise Http404("No such account link.")
    screen = selectors.consent_screen_for(link=link)
    # After an error the person's own ticks come back as they left them; nothing else is ever ticked.
    posted = {f"{name}={value}" for name in request.POST for value in request.POST.getlist(name)}
    return render(
        request, "consent/consent_screen.html", {"screen": screen, "form": form, "posted": posted}, status=status
    )
