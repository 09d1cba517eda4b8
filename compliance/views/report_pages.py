"""What every report page shows, whoever reads it: the filter (or its errors), the chart, a page of the table."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from partners.models import Partner
from portal.errors import ApplicationError
from portal.requests import client_ip

from ..audit import audit_append
from ..reports import Report, ReportFilter, report_filter

TABLE_PAGE = 50


def read_filter(request: HttpRequest, *, bank: Partner | None) -> tuple[ReportFilter | None, ApplicationError | None]:
    """Return the filter the query string asks for (a bank's pages fix the bank), or the error that says why not."""
    try:
        return report_filter(request.GET, bank=bank, any_bank=bank is None), None
    except ApplicationError as error:
        return None, error


def report_context(request: HttpRequest, report: Report, *, bank: Partner | None) -> tuple[dict[str, Any], int]:
    """Return the page's context and status: 400 with the error when the filter is bad, else the figures."""
    chosen, error = read_filter(request, bank=bank)
    context: dict[str, Any] = {
        "report": report,
        "params": {key: request.GET.get(key, "")[:60] for key in ("bank", "from", "to")},
        "error": error,
    }
    if chosen is None:
        return context, 400
    page = Paginator(report.rows(chosen), TABLE_PAGE).get_page(request.GET.get("page"))
    convert = report.converter()
    chart = report.chart(chosen)
    context.update(
        chosen=chosen,
        page=page,
        rows=[{"cells": convert(row), "raw": row} for row in page.object_list],
        chart=chart,
        chart_json=chart.as_json(),
        query=chosen.query(with_bank=bank is None),
    )
    return context, 200


def report_page(
    request: HttpRequest, report: Report, template: str, *, bank: Partner | None, **extra: Any
) -> HttpResponse:
    """Render a report page (400 and the error summary for a bad filter)."""
    context, status = report_context(request, report, bank=bank)
    return render(request, template, {**context, **extra}, status=status)


def report_csv(
    request: HttpRequest, report: Report, template: str, *, bank: Partner | None, **extra: Any
) -> HttpResponse | StreamingHttpResponse:
    """Record who exported what, then stream the report's CSV; a bad filter gets the page with its error."""
    chosen, error = read_filter(request, bank=bank)
    if chosen is None:
        context = {
            "report": report,
            "error": error,
            "params": {k: request.GET.get(k, "")[:60] for k in ("bank", "from", "to")},
        }
        return render(request, template, {**context, **extra}, status=400)
    with transaction.atomic():
        audit_append(
            action="report.export",
            actor=request.user,
            target=chosen.bank,
            data={"report": report.slug, "from": f"{chosen.first:%Y-%m}", "to": f"{chosen.last:%Y-%m}"},
            ip=client_ip(request),
        )
    return report.csv_response(chosen, prefix=f"{bank.slug}-" if bank is not None else "")
