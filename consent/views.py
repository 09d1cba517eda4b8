"""Pages for end users: link a bank, grant and withdraw permissions, renew them, read receipts."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.errors import ApplicationError, Conflict, show_on_form
from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from . import selectors, services
from .forms import ConsentForm, NarrowForm, RenewForm
from .models import ConsentGrant
from .receipts import receipt_document
from .services import AuthorisationRefused, reminder_lead_time

SESSION_BINDING_KEY = "consent_link_binding"
HISTORY_PAGE_SIZE = 25


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _refused(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    """Show a refusal (someone else's link or grant, a tampered form) as an error page with its status."""
    return render(
        request,
        "errors/error.html",
        {"title": "We could not do that", "message": error.message, "status": error.status},
        status=error.status,
    )


@role_required(User.Role.END_USER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show every linked bank with its permissions, and the ways to withdraw them."""
    user = _user(request)
    links = list(selectors.links_for_user(user=user))
    soon = timezone.now() + reminder_lead_time()
    return render(
        request,
        "consent/dashboard.html",
        {
            "links": links,
            "has_active": any(g.status == ConsentGrant.Status.ACTIVE for link in links for g in link.grants.all()),
            "renew_before": soon,
            "shared": selectors.shared_summary_for_user(user=user),
        },
    )


@role_required(User.Role.END_USER)
@require_GET
def banks(request: HttpRequest) -> HttpResponse:
    """List the banks the person may link."""
    return render(request, "consent/banks.html", {"banks": list(selectors.banks_for_user(user=_user(request)))})


@role_required(User.Role.END_USER)
@require_POST
def link_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Send the person to the bank's authorisation page with a fresh state and PKCE challenge."""
    user = _user(request)
    partner = selectors.bank_for_user(user=user, slug=slug)
    if partner is None:
        raise Http404("No such bank to link.")
    binding = request.session.get(SESSION_BINDING_KEY) or secrets.token_urlsafe(32)
    request.session[SESSION_BINDING_KEY] = binding
    try:
        url = services.link_start(user=user, partner=partner, session_binding=binding, ip=client_ip(request))
    except ApplicationError as error:
        return _refused(request, error)
    return redirect(url)


@role_required(User.Role.END_USER)
@never_cache
@require_GET
def link_callback(request: HttpRequest) -> HttpResponse:
    """Finish linking when the bank sends the person back with a code (or an error) and the state."""
    try:
        link = services.link_complete(
            user=_user(request),
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
    user = _user(request)
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
                return _refused(request, error)
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


def _after_action(request: HttpRequest, action: Any, success: str) -> HttpResponse:
    """Run a service call for a dashboard button and come back to the dashboard with what happened."""
    try:
        action()
    except AuthorisationRefused as error:
        return _refused(request, error)
    except Conflict as error:
        messages.info(request, error.message)
        return redirect("consent:dashboard")
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("consent:dashboard")
    messages.success(request, success)
    return redirect("consent:dashboard")


def _grant_or_404(request: HttpRequest, grant_id: int) -> ConsentGrant:
    # Someone else's id answers exactly as an id that does not exist: nothing to learn by probing.
    grant = selectors.grant_for_user(user=_user(request), pk=grant_id)
    if grant is None:
        raise Http404("No such permission.")
    return grant


@role_required(User.Role.END_USER)
@require_POST
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Withdraw one permission."""
    grant = _grant_or_404(request, grant_id)
    return _after_action(
        request,
        lambda: services.consent_revoke(grant=grant, actor=_user(request), ip=client_ip(request)),
        "Permission withdrawn. Your bank can no longer use it and must delete what it holds; the receipt is below.",
    )


@role_required(User.Role.END_USER)
@require_POST
def link_revoke_all(request: HttpRequest, link_id: int) -> HttpResponse:
    """Withdraw every permission given to one bank; the account stays linked."""
    link = selectors.link_for_user(user=_user(request), pk=link_id)
    if link is None:
        raise Http404("No such account link.")
    return _after_action(
        request,
        lambda: services.consent_revoke_all_for_link(link=link, actor=_user(request), ip=client_ip(request)),
        f"Every permission you gave {link.partner} is withdrawn.",
    )


@role_required(User.Role.END_USER)
@require_POST
def link_unlink(request: HttpRequest, link_id: int) -> HttpResponse:
    """Unlink an account, withdrawing every permission on it."""
    link = selectors.link_for_user(user=_user(request), pk=link_id)
    if link is None:
        raise Http404("No such account link.")
    return _after_action(
        request,
        lambda: services.link_unlink(link=link, actor=_user(request), ip=client_ip(request)),
        f"Your account {link.account_mask} at {link.partner} is unlinked and every permission on it withdrawn.",
    )


@role_required(User.Role.END_USER)
@require_POST
def revoke_everything(request: HttpRequest) -> HttpResponse:
    """Withdraw every permission at every bank at once."""
    user = _user(request)
    try:
        revoked = services.consent_revoke_everything(user=user, actor=user, ip=client_ip(request))
    except ApplicationError as error:
        return _refused(request, error)
    if revoked:
        messages.success(request, f"All {len(revoked)} of your permissions are withdrawn, at every bank.")
    else:
        messages.info(request, "You had no active permissions, so nothing was changed.")
    return redirect("consent:dashboard")


@role_required(User.Role.END_USER)
@require_GET
def grant_detail(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Show one permission, its history and a receipt for each change."""
    grant = selectors.grant_for_user(user=_user(request), pk=grant_id)
    if grant is None:
        raise Http404("No such permission.")
    return render(
        request,
        "consent/grant_detail.html",
        {"grant": grant, "events": list(grant.events.all()), "narrow_form": NarrowForm()},
    )


@role_required(User.Role.END_USER)
@require_http_methods(["GET", "POST"])
def grant_renew(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Show the current wording of a permission and renew it from today."""
    user = _user(request)
    if request.method == "POST":
        grant = _grant_or_404(request, grant_id)
        form = RenewForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The form was changed. Read the permission again and renew it.")
            return redirect("consent:grant-renew", grant_id=grant_id)
        version_id = form.cleaned_data["scope_version"]
        return _after_action(
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
    grant = _grant_or_404(request, grant_id)
    form = NarrowForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose from the messages this permission allows.")
        return redirect("consent:dashboard")
    return _after_action(
        request,
        lambda: services.consent_narrow(
            grant=grant, message_types=form.cleaned_data["message_types"], actor=_user(request), ip=client_ip(request)
        ),
        "Saved. Your bank will no longer send the messages you switched off.",
    )


@role_required(User.Role.END_USER)
@require_GET
def receipt(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Show a consent receipt in plain words, with its hash."""
    event = selectors.event_for_user(user=_user(request), public_id=public_id)
    if event is None:
        raise Http404("No such receipt.")
    return render(request, "consent/receipt.html", {"event": event, "document": receipt_document(event)})


@role_required(User.Role.END_USER)
@require_GET
def receipt_download(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """Download a consent receipt as JSON with its SHA-256."""
    event = selectors.event_for_user(user=_user(request), public_id=public_id)
    if event is None:
        raise Http404("No such receipt.")
    return JsonResponse(
        receipt_document(event),
        json_dumps_params={"indent": 2, "ensure_ascii": False},
        headers={"Content-Disposition": f'attachment; filename="consent-receipt-{event.public_id}.json"'},
    )


@role_required(User.Role.END_USER)
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """List every change to the person's consent, newest first, each with its receipt."""
    page = Paginator(selectors.events_for_user(user=_user(request)), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "consent/history.html", {"page": page, "events": list(page.object_list)})
