"""The trail as a filtered, keyset-paged list, shared by compliance staff's page and a bank's own slice.

The filter comes from the query string through `TrailFilterForm`; a bank's slice forces its bank
(never read from the query) and drops the bank filter. Bad values answer as form errors, never a 500.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse

from partners.models import Partner
from portal.requests import client_ip

from ..forms import BankTrailFilterForm, TrailFilterForm
from ..trail.export import trail_export
from ..trail.filters import KINDS, TrailFilter, known_actions, trail_entries
from ..trail.pages import TrailPage, trail_page


@dataclass(frozen=True)
class TrailListing:
    """What a trail page shows: the form (with any errors), the page of entries, and the links around it."""

    form: TrailFilterForm
    trail: TrailFilter | None  # None when the form has errors
    page: TrailPage | None
    query: str  # the filter as a query string, without the page cursors
    bank_names: dict[int, str]

    def context(self) -> dict[str, Any]:
        """Return the template context of the list."""
        rows = []
        if self.page is not None:
            rows = [
                {"entry": entry, "bank": self.bank_names.get(entry.partner_id or 0, "")} for entry in self.page.entries
            ]
        kind = self.trail.kind if self.trail is not None else ""
        return {
            "form": self.form,
            "page": self.page,
            "rows": rows,
            "query": self.query,
            "kinds": [(value, label, value == kind) for value, label in KINDS],
            "query_without_kind": _without(self.query, "kind"),
        }


def _without(query: str, name: str) -> str:
    from django.http import QueryDict

    values = QueryDict(query, mutable=True)
    values.pop(name, None)
    return values.urlencode()


def _banks() -> list[tuple[str, str, int]]:
    return list(Partner.objects.order_by("legal_name").values_list("slug", "legal_name", "pk"))


def _form(request: HttpRequest, partner: Partner | None) -> TrailFilterForm:
    data = request.GET if request.GET else None
    if partner is not None:
        return BankTrailFilterForm(data, actions=known_actions())
    return TrailFilterForm(data, banks=_banks(), actions=known_actions())


def _filter(form: TrailFilterForm, partner: Partner | None) -> TrailFilter | None:
    if form.is_bound and not form.is_valid():
        return None
    trail = form.trail_filter() if form.is_bound else TrailFilter()
    # A bank's slice is its bank's entries, whatever the query string says.
    return dataclasses.replace(trail, partner_id=partner.pk) if partner is not None else trail


def trail_listing(request: HttpRequest, *, partner: Partner | None = None) -> TrailListing:
    """Return the page of the trail the request's filter and cursor select (`partner`: that bank's slice)."""
    form = _form(request, partner)
    trail = _filter(form, partner)
    query = request.GET.copy()
    for cursor in ("before", "after"):
        query.pop(cursor, None)
    page = None
    if trail is not None:
        data = form.cleaned_data if form.is_bound else {}
        page = trail_page(trail_entries(trail), before=data.get("before"), after=data.get("after"))
    names = {partner.pk: partner.legal_name} if partner else {pk: name for _slug, name, pk in form.banks}
    return TrailListing(form, trail, page, query.urlencode(), names)


def trail_listing_export(request: HttpRequest, *, partner: Partner | None = None) -> StreamingHttpResponse | None:
    """Return the CSV of every entry the request's filter selects (audited), or None if the filter is bad."""
    form = _form(request, partner)
    trail = _filter(form, partner)
    if trail is None:
        return None
    return trail_export(
        entries=trail_entries(trail), trail=trail, actor=request.user, ip=client_ip(request), target=partner
    )
