"""Withdrawing and unlinking, each confirmed in one extra step, and undoing a withdrawal for a few minutes.

Each action answers GET (and a POST without `confirm`) with a page saying what stops, at which bank,
on which account, and from when; only the confirmation's own POST acts.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError
from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from .. import selectors, services
from ..models import AccountLink, ConsentGrant
from ..services import deletion_deadline
from ..undo import undo_window
from .common import after_action, grant_or_404, refused, user_of


def _confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get("confirm") == "yes"


def _confirm_page(
    request: HttpRequest,
    *,
    title: str,
    grants: list[ConsentGrant],
    links: list[AccountLink],
    button: str,
    undo: bool = True,
    unlinks: bool = False,
) -> HttpResponse:
    """Show what the action would stop and the one button that does it (none when nothing would change)."""
    context: dict[str, Any] = {
        "title": title,
        "grants": grants,
        "links": links,
        "banks": sorted({link.partner.legal_name for link in links}),
        "button": button,
        "undo_minutes": int(undo_window().total_seconds() // 60) if undo else 0,
        "unlinks": unlinks,
        "deletion_days": deletion_deadline().days,
    }
    return render(request, "consent/confirm_withdrawal.html", context)


def _active(grants: Any) -> list[ConsentGrant]:
    return [g for g in grants if g.status == ConsentGrant.Status.ACTIVE]


@role_required(User.Role.END_USER)
@require_http_methods(["GET", "POST"])
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Withdraw one permission, once confirmed."""
    grant = grant_or_404(request, grant_id)
    if not _confirmed(request):
        return _confirm_page(
            request,
            title=f"Withdraw '{grant.scope_version.name}'?",
            grants=_active([grant]),
            links=[grant.link],
            button="Withdraw this permission",
        )
    return after_action(
        request,
        lambda: services.consent_revoke(grant=grant, actor=user_of(request), ip=client_ip(request)),
        "Permission withdrawn. Your bank can no longer use it and must delete what it holds.",
    )


@role_required(User.Role.END_USER)
@require_http_methods(["GET", "POST"])
def bank_revoke_all(request: HttpRequest, slug: str) -> HttpResponse:
    """Withdraw every permission given to one bank, on every account linked there; the accounts stay linked."""
    user = user_of(request)
    links = list(selectors.links_for_user(user=user).filter(partner__slug=slug))
    if not links:
        raise Http404("No such linked bank.")
    bank = links[0].partner
    if not _confirmed(request):
        return _confirm_page(
            request,
            title=f"Withdraw everything from {bank.legal_name}?",
            grants=[g for link in links for g in _active(link.grants.all())],
            links=links,
            button=f"Withdraw everything from {bank.legal_name}",
        )
    try:
        revoked = services.consent_revoke_all_at_bank(user=user, partner_id=bank.pk, actor=user, ip=client_ip(request))
    except ApplicationError as error:
        return refused(request, error)
    if revoked:
        messages.success(request, f"Every permission you gave {bank.legal_name} is withdrawn, on every account.")
    else:
        messages.info(request, f"You had no active permission at {bank.legal_name}, so nothing was changed.")
    return redirect("consent:dashboard")


@role_required(User.Role.END_USER)
@require_http_methods(["GET", "POST"])
def link_unlink(request: HttpRequest, link_id: int) -> HttpResponse:
    """Unlink an account, withdrawing every permission on it, once confirmed."""
    link = selectors.links_for_user(user=user_of(request)).filter(pk=link_id).first()
    if link is None:
        raise Http404("No such account link.")
    if not _confirmed(request):
        return _confirm_page(
            request,
            title=f"Unlink account {link.account_mask} at {link.partner.legal_name}?",
            grants=_active(link.grants.all()),
            links=[link],
            button=f"Unlink account {link.account_mask}",
            undo=False,
            unlinks=True,
        )
    return after_action(
        request,
        lambda: services.link_unlink(link=link, actor=user_of(request), ip=client_ip(request)),
        f"Your account {link.account_mask} at {link.partner} is unlinked and every permission on it withdrawn.",
    )


@role_required(User.Role.END_USER)
@require_http_methods(["GET", "POST"])
def revoke_everything(request: HttpRequest) -> HttpResponse:
    """Withdraw every permission at every bank at once, once confirmed."""
    user = user_of(request)
    if not _confirmed(request):
        links = list(selectors.links_for_user(user=user))
        return _confirm_page(
            request,
            title="Withdraw every permission at every bank?",
            grants=[g for link in links for g in _active(link.grants.all())],
            links=links,
            button="Withdraw every permission at every bank",
        )
    try:
        revoked = services.consent_revoke_everything(user=user, actor=user, ip=client_ip(request))
    except ApplicationError as error:
        return refused(request, error)
    if revoked:
        messages.success(request, f"All {len(revoked)} of your permissions are withdrawn, at every bank.")
    else:
        messages.info(request, "You had no active permissions, so nothing was changed.")
    return redirect("consent:dashboard")


@role_required(User.Role.END_USER)
@require_POST
def undo_withdrawal(request: HttpRequest) -> HttpResponse:
    """Grant again what the person withdrew moments ago, on the same wording and end date."""
    try:
        grant_ids = [int(value) for value in request.POST.getlist("grant")]
    except ValueError:
        grant_ids = []
    if not grant_ids:
        messages.error(request, "Nothing to undo was named. Use the Undo button on your dashboard.")
        return redirect("consent:dashboard")
    return after_action(
        request,
        lambda: services.consent_undo_withdrawal(user=user_of(request), grant_ids=grant_ids, ip=client_ip(request)),
        "Undone: what you withdrew is granted again on the same wording and end date, each as a new grant "
        "with its own receipt.",
    )
