"""The person's own pages: the dashboard, the banks to link, each permission, receipts and history."""

from __future__ import annotations

from uuid import UUID

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.models import User
from portal.roles import role_required

from .. import selectors
from ..forms import NarrowForm
from ..models import ConsentGrant
from ..receipts import receipt_document
from ..services import reminder_lead_time
from ..undo import undo_deadline
from .common import user_of

HISTORY_PAGE_SIZE = 25


@role_required(User.Role.END_USER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show every linked bank with its permissions, and the ways to withdraw them."""
    user = user_of(request)
    links = list(selectors.links_for_user(user=user))
    now = timezone.now()
    withdrawn = selectors.latest_withdrawal(user=user, now=now)
    return render(
        request,
        "consent/dashboard.html",
        {
            "sections": selectors.bank_sections(links),
            "has_active": any(g.status == ConsentGrant.Status.ACTIVE for link in links for g in link.grants.all()),
            "renew_before": now + reminder_lead_time(),
            "shared": selectors.shared_summary_for_user(user=user),
            "withdrawn": withdrawn,
            "undo_until": undo_deadline(withdrawn[0]) if withdrawn else None,
        },
    )


@role_required(User.Role.END_USER)
@require_GET
def banks(request: HttpRequest) -> HttpResponse:
    """List the banks the person may link."""
    return render(request, "consent/banks.html", {"banks": list(selectors.banks_for_user(user=user_of(request)))})


@role_required(User.Role.END_USER)
@require_GET
def grant_detail(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Show one permission, its history and a receipt for each change."""
    grant = selectors.grant_for_user(user=user_of(request), pk=grant_id)
    if grant is None:
        raise Http404("No such permission.")
    return render(
        request,
        "consent/grant_detail.html",
        {"grant": grant, "events": list(grant.events.all()), "narrow_form": NarrowForm()},
    )


@role_required(User.Role.END_USER)
@require_GET
def receipt(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Show a consent receipt in plain words, with its hash."""
    event = selectors.event_for_user(user=user_of(request), public_id=public_id)
    if event is None:
        raise Http404("No such receipt.")
    document = receipt_document(event)
    # The sealed receipt names fields as the bank does; the page says what they are in words.
    described = {
        str(item["name"]): str(item["description"])
        for item in (event.grant.scope_version.fields if event.grant else [])
    }
    names = (document["receipt"].get("grant") or {}).get("fields", [])
    words = [described.get(name, name) for name in names]
    return render(request, "consent/receipt.html", {"event": event, "document": document, "field_words": words})


@role_required(User.Role.END_USER)
@require_GET
def receipt_download(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """Download a consent receipt as JSON with its SHA-256."""
    event = selectors.event_for_user(user=user_of(request), public_id=public_id)
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
    page = Paginator(selectors.events_for_user(user=user_of(request)), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "consent/history.html", {"page": page, "events": list(page.object_list)})
