"""The audit trail pages for compliance staff: the filtered list, an entry, the CSV export, verification."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from ..models import VerificationRun
from ..trail.detail import entry_detail
from ..trail.verification import verification_progress, verification_start
from .listing import trail_listing, trail_listing_export

compliance_required = role_required(User.Role.COMPLIANCE_STAFF)


@compliance_required
def home(request: HttpRequest) -> HttpResponse:
    """Show the audit trail, newest first, 50 a page, filtered as asked (people's actions by default)."""
    listing = trail_listing(request)
    latest = VerificationRun.objects.order_by("-id").first()
    return render(request, "compliance/home.html", {**listing.context(), "latest_run": latest})


@compliance_required
def export(request: HttpRequest) -> HttpResponseBase:
    """Stream every entry the filter selects as CSV (the export itself is audited)."""
    response = trail_listing_export(request)
    if response is None:  # the filter has errors: show them on the page instead
        listing = trail_listing(request)
        return render(request, "compliance/home.html", listing.context(), status=400)
    return response


@compliance_required
def entry(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one entry: what changed (redacted), the request it came from, its place and seal in the chain."""
    detail = entry_detail(pk=pk)
    if detail is None:
        raise Http404("No audit entry has this number.")
    return render(request, "compliance/entry.html", {"detail": detail, "back": "compliance:home"})


@compliance_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """Start verifying the whole chain on a worker, and go to the page that follows its progress."""
    run = verification_start(actor=request.user, ip=client_ip(request))
    return redirect("compliance:verification", pk=run.pk)


@compliance_required
def verification(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a verification run: its progress bar while it runs, then what it found."""
    run = get_object_or_404(VerificationRun, pk=pk)
    return render(request, "compliance/verify.html", {"run": run, "progress": verification_progress(run)})


@compliance_required
def verification_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Answer the progress bar's poll: status, entries checked of the total, percent, finished."""
    run = get_object_or_404(VerificationRun, pk=pk)
    response = JsonResponse(verification_progress(run))
    response["Cache-Control"] = "no-store"
    return response
