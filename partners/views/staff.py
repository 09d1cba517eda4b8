"""Pages for platform staff: the bank review queue, a bank's review page, and the usage terms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from compliance.selectors import audit_entries_for
from portal.errors import ApplicationError, show_on_form
from portal.models import User
from portal.roles import role_required

from ..forms import PartnerTransitionForm, TermsForm
from ..models import Partner, UsageTerms
from ..selectors import partner_review_for_staff, partner_status_counts, partners_for_review, terms_versions_for_staff
from ..services import partner_transition, terms_publish
from ..terms_text import render_terms


@role_required(User.Role.PLATFORM_STAFF)
def staff_home(request: HttpRequest) -> HttpResponse:
    """Show platform staff every bank, newest applications first, filtered by status."""
    status = request.GET.get("status", "")
    if status not in Partner.Status.values:
        status = ""
    counts = partner_status_counts()
    tabs: list[dict[str, Any]] = [{"status": "", "label": "All", "count": sum(counts.values())}]
    tabs += [{"status": value, "label": label, "count": counts[value]} for value, label in Partner.Status.choices]
    page = Paginator(partners_for_review(status=status), 25).get_page(request.GET.get("page"))
    context = {"page": page, "tabs": tabs, "status": status, "query": f"status={status}" if status else ""}
    return render(request, "partners/staff_home.html", context)


@role_required(User.Role.PLATFORM_STAFF)
def staff_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a bank's application, people, terms and history, and let staff move it on."""
    context = partner_review_for_staff(slug=slug)
    if context is None:
        raise Http404("No such bank.")
    partner: Partner = context["partner"]
    form = PartnerTransitionForm(request.POST or None, next_statuses=context["next_statuses"])
    if request.method == "POST" and form.is_valid():
        try:
            partner = partner_transition(
                partner=partner,
                to_status=form.cleaned_data["to_status"],
                note=form.cleaned_data["note"],
                actor=request.user,
                missing_confirmed=form.cleaned_data["missing_confirmed"],
            )
        except ApplicationError as error:
            show_on_form(form, error)
        else:
            messages.success(request, f"The status of {partner} is now “{partner.get_status_display()}”.")
            return redirect("partners:staff-detail", slug=partner.slug)
    history = audit_entries_for(target_type=Partner._meta.label_lower, target_id=str(partner.pk))
    context["history"] = Paginator(history, 20).get_page(request.GET.get("page"))
    context["form"] = form
    return render(request, "partners/staff/detail.html", context)


@role_required(User.Role.PLATFORM_STAFF)
def staff_terms(request: HttpRequest) -> HttpResponse:
    """List the usage terms versions, newest first, with how many banks accepted each."""
    page = Paginator(terms_versions_for_staff(), 25).get_page(request.GET.get("page"))
    return render(request, "partners/staff/terms_list.html", {"page": page})


@role_required(User.Role.PLATFORM_STAFF)
def staff_terms_new(request: HttpRequest) -> HttpResponse:
    """Write a new version of the usage terms, preview it as banks will read it, then publish it."""
    # A new version starts from the current one's text: most changes are edits, not rewrites.
    current = UsageTerms.objects.current()
    initial = {"title": current.title, "body": current.body} if current else {}
    form = TermsForm(request.POST or None, initial=initial)
    action = request.POST.get("action", "")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if action == "preview":
            return render(
                request, "partners/staff/terms_preview.html", {"form": form, "preview": render_terms(data["body"])}
            )
        if action == "publish":
            try:
                terms = terms_publish(
                    title=data["title"],
                    body=data["body"],
                    requires_reacceptance=data["requires_reacceptance"],
                    grace_days=data["grace_days"],
                    actor=request.user,
                )
            except ApplicationError as error:
                show_on_form(form, error)
            else:
                messages.success(request, f"Version {terms.version} of the usage terms is published.")
                return redirect("partners:staff-terms")
    return render(request, "partners/staff/terms_form.html", {"form": form})
