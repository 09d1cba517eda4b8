"""A bank's own figures and the reports about it, for its people (its compliance contact too), read-only."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from partners.policy import BankAction
from partners.views.bank.access import BankAccess, bank_access, member_required

from ..reports import BANK_ACTIVITY, REPORTS, Report, active_grants
from .report_pages import report_context, report_csv, report_page

TEMPLATE = "compliance/reports/bank_report.html"


def _access(request: HttpRequest, slug: str) -> BankAccess:
    access = bank_access(request, slug)  # 404 for a bank the person is not a member of
    access.require(BankAction.VIEW)
    return access


def _report(slug: str) -> Report:
    report = REPORTS.get(slug)
    if report is None:
        raise Http404("There is no such report. Pick one from the list of reports.")
    return report


@member_required
@require_GET
def figures(request: HttpRequest, slug: str) -> HttpResponse:
    """Show the bank's grants in force per scope, and its grants and revocations over time by purpose."""
    access = _access(request, slug)
    context, status = report_context(request, BANK_ACTIVITY, bank=access.partner)
    active = active_grants(partner=access.partner)
    context.update(active=active, active_json=active.chart.as_json())
    return render(request, "compliance/reports/bank_figures.html", access.context("figures", **context), status=status)


@member_required
@require_GET
def figures_download(request: HttpRequest, slug: str) -> HttpResponseBase:
    """Stream the bank's figures over time as CSV."""
    access = _access(request, slug)
    return report_csv(request, BANK_ACTIVITY, TEMPLATE, bank=access.partner, **access.context("reports"))


@member_required
@require_GET
def index(request: HttpRequest, slug: str) -> HttpResponse:
    """List the reports about the bank."""
    access = _access(request, slug)
    return render(request, "compliance/reports/bank_index.html", access.context("reports", reports=REPORTS.values()))


@member_required
@require_GET
def report(request: HttpRequest, slug: str, report: str) -> HttpResponse:
    """Show one report, narrowed to the bank."""
    access = _access(request, slug)
    return report_page(request, _report(report), TEMPLATE, bank=access.partner, **access.context("reports"))


@member_required
@require_GET
def report_download(request: HttpRequest, slug: str, report: str) -> HttpResponseBase:
    """Stream one report's CSV, narrowed to the bank."""
    access = _access(request, slug)
    return report_csv(request, _report(report), TEMPLATE, bank=access.partner, **access.context("reports"))
