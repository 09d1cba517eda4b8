"""A person's own data: "download my data", its progress and the download, under /me/data/."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.errors import NotFound
from portal.models import User
from portal.requests import client_ip

from ..data_requests.archive import archive_progress
from ..data_requests.models import DataRequest
from ..data_requests.policy import data_requests_visible_to
from ..data_requests.requests import data_request_for, data_request_mine
from .data_requests import archive_file_response

SHOWN = 20


def _own_request(request: HttpRequest, pk: int) -> DataRequest:
    assert isinstance(request.user, User)
    try:
        found = data_request_for(viewer=request.user, pk=pk)
    except NotFound as error:
        raise Http404(error.message) from error
    if not found.by_the_person:
        raise Http404("There is no such request for you.")
    return found


@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """Show what a copy of one's data holds, and the copies asked for recently."""
    assert isinstance(request.user, User)
    mine = data_requests_visible_to(request.user).filter(requested_by=request.user).order_by("-created_at", "-pk")
    context = {"requests": mine[:SHOWN], "keep_days": settings.RETENTION_EXPORT_DAYS}
    return render(request, "compliance/my_data/home.html", context)


@login_required
@require_POST
def my_data_start(request: HttpRequest) -> HttpResponse:
    """Start preparing a copy of one's data and go to its progress."""
    assert isinstance(request.user, User)
    started = data_request_mine(person=request.user, ip=client_ip(request))
    return redirect("my-data:request", pk=started.pk)


@login_required
def my_data_request(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a copy's progress, then its download."""
    found = _own_request(request, pk)
    return render(
        request, "compliance/my_data/detail.html", {"data_request": found, "progress": archive_progress(found)}
    )


@login_required
def my_data_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Answer the progress bar's poll."""
    return JsonResponse(archive_progress(_own_request(request, pk)))


@login_required
def my_data_download(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """Download one's own copy."""
    _own_request(request, pk)
    return archive_file_response(request, pk)
