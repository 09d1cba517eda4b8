"""Pages for platform staff: the bank review queue."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.models import User
from portal.roles import role_required

from ..selectors import partners_for_review


@role_required(User.Role.PLATFORM_STAFF)
def staff_home(request: HttpRequest) -> HttpResponse:
    """Show platform staff every bank, newest applications first."""
    page = Paginator(partners_for_review(), 25).get_page(request.GET.get("page"))
    return render(request, "partners/staff_home.html", {"page": page})
