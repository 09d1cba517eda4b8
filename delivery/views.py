"""Pages of delivery: the inbox (live), a bank's delivery figures and dead letters, staff's queues."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from partners.policy import BankAction, member_may, refusal
from partners.selectors import partner_for_member
from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required
from portal.sessions.middleware import passive

from . import selectors, services
from .chat.selectors import bot_dead_letters_for_partner
from .chat.sending import bot_message_replay

PAGE_SIZE = 25


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@role_required(User.Role.END_USER)
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """Show the person's inbox: one thread per bank, the chosen thread's messages newest first."""
    user = _user(request)
    threads = selectors.inbox_threads_for_user(user=user)
    slug = request.GET.get("bank", "")
    partner = selectors.inbox_partner_for_user(user=user, slug=slug) if slug else None
    if slug and partner is None:
        raise Http404("No messages from this bank.")
    page = Paginator(selectors.inbox_messages_for_user(user=user, partner=partner), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    newest = max((message.pk for message in page.object_list), default=0) if page.number == 1 else None
    return render(
        request,
        "delivery/inbox.html",
        {
            "threads": threads,
            "partner": partner,
            "page": page,
            "newest_id": newest,
            "query": f"bank={partner.slug}" if partner else "",
        },
    )


@passive  # the open inbox asks by itself: that is not the person's activity (idle limits still apply)
@role_required(User.Role.END_USER)
@require_GET
@never_cache
def inbox_poll(request: HttpRequest) -> JsonResponse:
    """Return the person's messages newer than `?after=` (what the open inbox page adds without a reload)."""
    user = _user(request)
    after = request.GET.get("after", "0")
    slug = request.GET.get("bank", "")
    partner = selectors.inbox_partner_for_user(user=user, slug=slug) if slug else None
    rows = selectors.inbox_messages_after(user=user, after_id=int(after) if after.isdigit() else 0, partner=partner)
    return JsonResponse(
        {
            "messages": [
                {
                    "id": message.pk,
                    "bank": message.partner.legal_name,
                    "title": message.title,
                    "body": message.body,
                    "created_at": timezone.localtime(message.created_at).strftime("%-d %b %Y, %H:%M"),
                }
                for message in rows
            ]
        }
    )


@role_required(User.Role.END_USER)
@require_POST
def inbox_read(request: HttpRequest) -> HttpResponse:
    """Mark the shown thread (or every thread) as read."""
    user = _user(request)
    slug = request.POST.get("bank", "")
    partner = selectors.inbox_partner_for_user(user=user, slug=slug) if slug else None
    services.inbox_mark_read(user=user, partner_id=partner.pk if partner else None)
    return redirect(f"{request.path.removesuffix('read/')}" + (f"?bank={partner.slug}" if partner else ""))


@role_required(User.Role.PARTNER_MEMBER)
@require_GET
def bank_deliveries(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a bank's delivery health: volume, success rate, latency with a chart, then dead letters."""
    partner = partner_for_member(user=_user(request), slug=slug)
    if partner is None:
        raise Http404("No such bank among yours.")
    figures = selectors.delivery_figures_for_partner(partner=partner)
    page = Paginator(selectors.dead_letters_for_partner(partner=partner), PAGE_SIZE).get_page(request.GET.get("page"))
    chart = {
        "labels": [label for label, _ok, _not in figures.per_hour],
        "delivered": [ok for _label, ok, _not in figures.per_hour],
        "other": [other for _label, _ok, other in figures.per_hour],
    }
    can_replay = member_may(request.user, partner, BankAction.REPLAY)
    return render(
        request,
        "delivery/bank_deliveries.html",
        {
            "partner": partner,
            "section": "deliveries",
            "figures": figures,
            "page": page,
            "chart": chart,
            "can_replay": can_replay,
            "bot_dead": bot_dead_letters_for_partner(partner=partner),
        },
    )


@role_required(User.Role.PARTNER_MEMBER)
@require_POST
def bank_replay(request: HttpRequest, slug: str) -> HttpResponse:
    """Send the bank's dead letters again (managers and developers; the service asks the policy too)."""
    user = _user(request)
    partner = partner_for_member(user=user, slug=slug)
    if partner is None:
        raise Http404("No such bank among yours.")
    if not member_may(user, partner, BankAction.REPLAY):
        error = refusal(user, partner, BankAction.REPLAY)
        raise PermissionDenied(error) from error
    count = services.delivery_replay(
        deliveries=selectors.dead_letters_for_partner(partner=partner)[:1000], actor=request.user, ip=client_ip(request)
    )
    count += bot_message_replay(partner=partner, actor=user, ip=client_ip(request))
    messages.success(request, f"{count} dead letters are being sent again.")
    return redirect("delivery:bank-deliveries", slug=partner.slug)


@role_required(User.Role.PLATFORM_STAFF)
@require_GET
def staff_deliveries(request: HttpRequest) -> HttpResponse:
    """Show platform staff the outbox depth per queue and every dead letter."""
    page = Paginator(selectors.dead_letters(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "delivery/staff_deliveries.html", {"queues": selectors.queue_depths(), "page": page})


@role_required(User.Role.PLATFORM_STAFF)
@require_POST
def staff_replay(request: HttpRequest) -> HttpResponse:
    """Send dead letters again: the ticked ones, or all of them."""
    rows = selectors.dead_letters()
    ids = [int(pk) for pk in request.POST.getlist("delivery") if pk.isdigit()]
    if request.POST.get("all") != "1":
        rows = rows.filter(pk__in=ids)
    count = services.delivery_replay(deliveries=rows[:1000], actor=request.user, ip=client_ip(request))
    messages.success(request, f"{count} dead letters are being sent again.")
    return redirect("delivery:staff-deliveries")
