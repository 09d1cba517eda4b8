"""Pages for bank members: their bank's home and everything they manage there."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.models import User
from portal.roles import role_required

from ..selectors import partner_home_for_user, partners_for_user


@role_required(User.Role.PARTNER_MEMBER)
def home(request: HttpRequest) -> HttpResponse:
    """Send a member to their bank's page, or let them choose when they belong to several."""
    assert isinstance(request.user, User)
    partners = list(partners_for_user(user=request.user))
    if len(partners) == 1:
        return redirect("partners:detail", slug=partners[0].slug)
    return render(request, "partners/choose.html", {"partners": partners})


@role_required(User.Role.PARTNER_MEMBER)
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a bank's home: status and next step first, then keys and members."""
    assert isinstance(request.user, User)
    context = partner_home_for_user(user=request.user, slug=slug)
    if context is None:
        raise Http404("No such bank among yours.")
    return render(request, "partners/detail.html", context)
