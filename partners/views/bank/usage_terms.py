"""The usage terms as the bank sees them: the current text, what changed, and a manager's acceptance."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal.errors import ApplicationError, show_on_form
from portal.requests import client_ip, user_agent

from ... import services
from ...forms import TermsAcceptanceForm
from ...policy import BankAction
from ...selectors import managers_of_partner, partner_terms_status, usage_terms_version
from ...terms_text import render_terms, terms_diff
from .access import bank_access, member_required


@member_required
@require_http_methods(["GET", "POST"])
def terms(request: HttpRequest, slug: str) -> HttpResponse:
    """Show the current usage terms, what changed since the bank accepted, and let a manager accept them."""
    access = bank_access(request, slug)
    status = partner_terms_status(partner=access.partner)
    current = status.current
    form = TermsAcceptanceForm(
        request.POST or None,
        initial={"version": current.version if current else None},
        partner_name=access.partner.legal_name,
    )
    if request.method == "POST":
        access.require(BankAction.ACCEPT_TERMS)
        if form.is_valid():
            accepted_terms = usage_terms_version(version=form.cleaned_data["version"])
            try:
                if accepted_terms is None:
                    raise ApplicationError("These terms do not exist. Reload the page and read the current version.")
                services.terms_accept(
                    partner=access.partner,
                    terms=accepted_terms,
                    user=access.user,
                    ip=client_ip(request),
                    user_agent=user_agent(request),
                )
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                messages.success(
                    request, f"You accepted version {accepted_terms.version} of the usage terms for {access.partner}."
                )
                return redirect("partners:terms", slug=slug)
    changes = None
    if current is not None and status.accepted is not None and status.accepted.terms_id != current.pk:
        changes = terms_diff(status.accepted.terms.body, current.body)
    return render(
        request,
        "partners/bank/terms.html",
        access.context(
            "terms",
            status=status,
            current=current,
            body_html=render_terms(current.body) if current else "",
            changes=changes,
            managers=list(managers_of_partner(partner=access.partner)),
            form=form,
        ),
    )
