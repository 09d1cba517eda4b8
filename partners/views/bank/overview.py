"""A member's way in: their bank's home, with its status and next step, or the choice of bank."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from portal.models import User

from ...selectors import TermsStatus, partner_home_for_user, partners_for_user
from .access import bank_access, member_required

# Where each step of the go-live checklist is done, and what the button says.
CHECKLIST_PAGES = {
    "terms": ("partners:terms", "Read and accept the usage terms"),
    "scopes": ("partners:scopes", "Declare a scope"),
    "capabilities": ("partners:capabilities", "Describe a capability"),
    "keys": ("partners:keys", "Create an API key"),
    "webhooks": ("partners:webhooks", "Add a webhook endpoint"),
}


@member_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a member to their bank's page, or let them choose when they belong to several."""
    assert isinstance(request.user, User)
    partners = list(partners_for_user(user=request.user))
    if len(partners) == 1:
        return redirect("partners:detail", slug=partners[0].slug)
    return render(request, "partners/choose.html", {"partners": partners})


@member_required
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a bank's home: status and next step first, then terms, catalog, keys, webhooks, members."""
    assert isinstance(request.user, User)
    context = partner_home_for_user(user=request.user, slug=slug)
    if context is None:
        raise Http404("No such bank among yours.")
    access = bank_access(request, slug)
    checklist = context["checklist"]
    assert isinstance(checklist, list)
    steps = []
    for item in checklist:
        url_name, action = CHECKLIST_PAGES.get(item.step, ("", ""))
        steps.append(
            {"item": item, "url": reverse(url_name, kwargs={"slug": slug}) if url_name else "", "action": action}
        )
    terms = context["terms"]
    assert isinstance(terms, TermsStatus)
    # With no terms published there is nothing to accept yet, so the next step is the one after.
    actionable = [s for s in steps if not (s["item"].step == "terms" and terms.state == "no_terms")]
    next_step = next((step for step in actionable if not step["item"].done), None)
    return render(
        request,
        "partners/detail.html",
        access.context(
            "overview",
            **context,
            steps=steps,
            next_item=next_step["item"] if next_step else None,
            next_url=next_step["url"] if next_step else "",
            next_action=next_step["action"] if next_step else "",
        ),
    )
