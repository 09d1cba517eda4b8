"""Data-subject requests for compliance staff: the list, logging one, its progress, download and erasure."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.errors import ApplicationError, NotFound, show_on_form
from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from ..data_requests.archive import archive_progress
from ..data_requests.erasure import person_erase
from ..data_requests.forms import DataRequestForm, ErasureConfirmForm
from ..data_requests.models import DataRequest
from ..data_requests.policy import LOGGED_BY_STAFF, data_requests_visible_to
from ..data_requests.requests import data_request_download, data_request_for, data_request_log

PAGE_SIZE = 50


def _staff_request(request: HttpRequest, pk: int) -> DataRequest:
    assert isinstance(request.user, User)
    try:
        found = data_request_for(viewer=request.user, pk=pk)
    except NotFound as error:
        raise Http404(error.message) from error
    if found.by_the_person:  # a person's own copy is theirs alone, even for staff
        raise Http404("There is no such request for you.")
    return found


def archive_file_response(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """Stream the request's zip to the viewer (policy decides), or say why not."""
    assert isinstance(request.user, User)
    try:
        found, path = data_request_download(viewer=request.user, pk=pk, ip=client_ip(request))
    except NotFound as error:
        raise Http404(error.message) from error
    except ApplicationError as error:
        return render(request, "compliance/data_requests/not_ready.html", {"message": error.message}, status=409)
    filename = f"data-archive-{found.pk}.zip"
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type="application/zip")


@role_required(User.Role.COMPLIANCE_STAFF)
def data_requests(request: HttpRequest) -> HttpResponse:
    """List the requests compliance logged, newest first, and log a new one."""
    assert isinstance(request.user, User)
    form = DataRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            logged = data_request_log(**form.cleaned(), actor=request.user, ip=client_ip(request))
        except ApplicationError as error:
            show_on_form(form, error)
        else:
            messages.success(request, "The request is logged.")
            return redirect("compliance:data-request", pk=logged.pk)
    visible = data_requests_visible_to(request.user).filter(LOGGED_BY_STAFF).order_by("-created_at", "-pk")
    page = Paginator(visible, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "compliance/data_requests/list.html", {"page": page, "form": form})


@role_required(User.Role.COMPLIANCE_STAFF)
def data_request(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one request: an archive's progress and download, or an erasure's confirmation."""
    found = _staff_request(request, pk)
    return render(
        request,
        "compliance/data_requests/detail.html",
        {"data_request": found, "progress": archive_progress(found), "erase_form": ErasureConfirmForm()},
    )


@role_required(User.Role.COMPLIANCE_STAFF)
def data_request_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Answer the progress bar's poll."""
    return JsonResponse(archive_progress(_staff_request(request, pk)))


@role_required(User.Role.COMPLIANCE_STAFF)
def data_request_download_view(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """Download the archive of a request compliance logged."""
    _staff_request(request, pk)
    return archive_file_response(request, pk)


@role_required(User.Role.COMPLIANCE_STAFF)
@require_POST
def data_request_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """Carry out a logged erasure once staff confirm it."""
    assert isinstance(request.user, User)
    found = _staff_request(request, pk)
    form = ErasureConfirmForm(request.POST)
    if form.is_valid():
        try:
            person_erase(request=found, actor=request.user, ip=client_ip(request))
        except ApplicationError as error:
            context = {"data_request": found, "progress": archive_progress(found), "problem": error.message}
            return render(request, "compliance/data_requests/detail.html", context, status=error.status)
        else:
            messages.success(request, "The person's data is erased, and each of their banks is being told.")
            return redirect("compliance:data-request", pk=found.pk)
    context = {"data_request": found, "progress": archive_progress(found), "erase_form": form}
    return render(request, "compliance/data_requests/detail.html", context, status=400)
