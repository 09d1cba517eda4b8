"""Pages for compliance staff about banks' catalogs: scope reviews and the grant changes scope versions made."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from consent.selectors import grant_scope_changes
from partners.models import Partner, Purpose
from partners.selectors import scope_version_changes, scope_version_for_review, scope_versions_pending_review
from partners.services import scope_review
from portal.errors import ApplicationError, show_on_form
from portal.models import User
from portal.roles import role_required

from ..forms import ScopeReviewForm


def _review_form(data: Any = None, *, version_id: object = None) -> ScopeReviewForm:
    # One form per version on the page: its ids must be unique, so they carry the version's id.
    return ScopeReviewForm(data, initial={"version": version_id}, auto_id=f"review-{version_id}-%s")


@role_required(User.Role.COMPLIANCE_STAFF)
def scope_reviews(request: HttpRequest) -> HttpResponse:
    """Show high-sensitivity scope versions waiting for approval, and approve or send back one."""
    posted: ScopeReviewForm | None = None
    if request.method == "POST":
        posted = _review_form(request.POST, version_id=request.POST.get("version", "")[:20])
        if posted.is_valid():
            data = posted.cleaned_data
            version = scope_version_for_review(pk=data["version"])
            if version is None:
                posted.add_error(None, "This scope version does not exist any more. Reload the page.")
            else:
                try:
                    scope_review(
                        version=version, approve=data["decision"] == "approve", note=data["note"], actor=request.user
                    )
                except ApplicationError as error:
                    show_on_form(posted, error)
                else:
                    scope = version.scope
                    done = "approved and published" if data["decision"] == "approve" else "sent back to the bank"
                    messages.success(request, f"{scope.partner}: {scope.code} version {version.number} {done}.")
                    return redirect("compliance:scope-reviews")
    page = Paginator(scope_versions_pending_review(), 10).get_page(request.GET.get("page"))
    purpose_labels = dict(Purpose.choices)
    reviews = []
    for version in page.object_list:
        mine = posted is not None and posted.data.get("version") == str(version.pk)
        reviews.append(
            {
                "version": version,
                "changes": scope_version_changes(version=version),
                "purposes": [purpose_labels.get(purpose, purpose) for purpose in version.purposes],
                "form": posted if mine else _review_form(version_id=version.pk),
            }
        )
    # A decision about a version no longer on the list (already reviewed, say) is answered at the top.
    stray = posted if posted is not None and not any(r["form"] is posted for r in reviews) else None
    return render(request, "compliance/scope_reviews.html", {"page": page, "reviews": reviews, "stray": stray})


@role_required(User.Role.COMPLIANCE_STAFF)
def grant_changes(request: HttpRequest) -> HttpResponse:
    """List the grants banks' published scope versions ended, shortened or left pinned, 50 a page, by bank."""
    banks = list(Partner.objects.order_by("legal_name").values_list("slug", "legal_name", "pk"))
    slug = request.GET.get("bank", "").strip()[:60]
    partner_id = next((pk for bank_slug, _name, pk in banks if bank_slug == slug), None)
    rows = grant_scope_changes(partner_id=partner_id)
    if slug and partner_id is None:  # a bank that does not exist has no changes
        rows = rows.none()
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request, "compliance/grant_changes.html", {"page": page, "banks": [(s, n) for s, n, _pk in banks], "bank": slug}
    )
