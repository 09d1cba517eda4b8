"""The reports pages for compliance staff: the index, each report with its chart, table and CSV, and the chase."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from partners.models import Partner
from portal.errors import ApplicationError
from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from ..reports import REPORTS, Report, attestation_chase
from ..reports.banks import OVERDUE_ATTESTATIONS
from .report_pages import report_csv, report_page

staff_only = role_required(User.Role.COMPLIANCE_STAFF)
TEMPLATE = "compliance/reports/report.html"


def _report(slug: str) -> Report:
    report = REPORTS.get(slug)
    if report is None:
        raise Http404("There is no such report. Pick one from the list of reports.")
    return report


def _banks() -> list[tuple[str, str]]:
    return list(Partner.objects.order_by("legal_name", "pk").values_list("slug", "legal_name"))


@staff_only
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """List the reports, each with the question it answers."""
    return render(request, "compliance/reports/index.html", {"reports": REPORTS.values()})


@staff_only
@require_GET
def report(request: HttpRequest, slug: str) -> HttpResponse:
    """Show one report over every bank (or the one chosen) and a range of months."""
    chosen = _report(slug)
    return report_page(request, chosen, TEMPLATE, bank=None, banks=_banks(), can_chase=chosen is OVERDUE_ATTESTATIONS)


@staff_only
@require_GET
def report_download(request: HttpRequest, slug: str) -> HttpResponseBase:
    """Stream one report's CSV: every row the filter selects."""
    chosen = _report(slug)
    return report_csv(request, chosen, TEMPLATE, bank=None, banks=_banks())


@staff_only
@require_POST
def chase(request: HttpRequest) -> HttpResponse:
    """Email a bank's compliance contact about its overdue deletion attestations, and record that."""
    back = reverse("compliance:report", kwargs={"slug": OVERDUE_ATTESTATIONS.slug})
    partner = Partner.objects.filter(slug=request.POST.get("bank", "").strip()[:60]).first()
    if partner is None:
        messages.error(request, "There is no such bank. Pick a bank from the list below.")
        return redirect(back)
    try:
        done = attestation_chase(partner=partner, actor=request.user, ip=client_ip(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{partner} was asked to attest {done.overdue} overdue deletions ({done.recipients} people emailed).",
        )
    return redirect(back)
