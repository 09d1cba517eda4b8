"""A bank's own slice of the audit trail, for its compliance contact and managers: read-only, their bank only.

The bank comes from the address and must be one of the member's (404 otherwise); reading it needs
`read_trail` (`partners.policy`: the compliance contact's and the managers'), refused with 403 and audited. The bank is
forced onto the filter, so nothing in the query string reaches another bank's entries.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from partners.policy import BankAction
from partners.views.bank.access import BankAccess, bank_access, member_required

from ..trail.detail import entry_detail
from .listing import trail_listing, trail_listing_export


def _reader(request: HttpRequest, slug: str) -> BankAccess:
    access = bank_access(request, slug)
    access.require(BankAction.READ_TRAIL)
    return access


@member_required
def trail(request: HttpRequest, slug: str) -> HttpResponse:
    """Show the entries about the bank, newest first, 50 a page, filtered as asked."""
    access = _reader(request, slug)
    listing = trail_listing(request, partner=access.partner)
    return render(request, "compliance/bank_trail.html", access.context("trail", **listing.context()))


@member_required
def export(request: HttpRequest, slug: str) -> HttpResponseBase:
    """Stream the bank's entries the filter selects as CSV (audited, and shown in the bank's slice)."""
    access = _reader(request, slug)
    response = trail_listing_export(request, partner=access.partner)
    if response is None:
        listing = trail_listing(request, partner=access.partner)
        context = access.context("trail", **listing.context())
        return render(request, "compliance/bank_trail.html", context, status=400)
    return response


@member_required
def entry(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Show one entry about the bank (another bank's, or none, is 404)."""
    access = _reader(request, slug)
    detail = entry_detail(pk=pk, partner_id=access.partner.pk)
    if detail is None:
        raise Http404("No entry about your bank has this number.")
    return render(request, "compliance/bank_entry.html", access.context("trail", detail=detail))
