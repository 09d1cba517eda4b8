"""The bank's chatbot capabilities: listing, declaring and changing them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal.errors import ApplicationError, show_on_form

from ... import services
from ...forms import CapabilityCreateForm, CapabilityForm
from ...models import MessageType
from ...policy import BankAction
from ...selectors import capabilities_for_partner, capability_for_partner, published_scopes_for_partner
from .access import bank_access, member_required


@member_required
def capabilities(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's chatbot capabilities with the scopes they need."""
    access = bank_access(request, slug)
    rows = [
        {"capability": capability, "message_types": _message_type_labels(capability.message_types)}
        for capability in capabilities_for_partner(partner=access.partner)
    ]
    return render(request, "partners/bank/capabilities.html", access.context("capabilities", rows=rows))


def _message_type_labels(message_types: list[str]) -> list[str]:
    labels = dict(MessageType.choices)
    return [labels.get(message_type, message_type) for message_type in message_types]


@member_required
@require_http_methods(["GET", "POST"])
def capability_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Declare a chatbot capability that uses the bank's published scopes."""
    access = bank_access(request, slug)
    access.require(BankAction.MANAGE_CATALOG)
    published = list(published_scopes_for_partner(partner=access.partner))
    form = CapabilityCreateForm(request.POST or None, scopes=published)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        try:
            services.capability_create(partner=access.partner, code=code, actor=access.user, **form.service_values())
        except (ApplicationError, ValidationError) as error:
            show_on_form(form, error)
        else:
            messages.success(request, f"The capability {code} is saved.")
            return redirect("partners:capability", slug=slug, code=code)
    return render(
        request, "partners/bank/capability_new.html", access.context("capabilities", form=form, published=published)
    )


@member_required
@require_http_methods(["GET", "POST"])
def capability_detail(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    """Show a chatbot capability; managers and developers change it here."""
    access = bank_access(request, slug)
    capability = capability_for_partner(partner=access.partner, code=code)
    if capability is None:
        raise Http404("No such capability.")
    published = list(published_scopes_for_partner(partner=access.partner))
    form = CapabilityForm(request.POST or None, scopes=published, initial=CapabilityForm.initial_from(capability))
    if request.method == "POST":
        access.require(BankAction.MANAGE_CATALOG)
        if form.is_valid():
            try:
                services.capability_update(capability=capability, actor=access.user, **form.service_values())
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                messages.success(request, f"The capability {capability.code} is saved.")
                return redirect("partners:capability", slug=slug, code=capability.code)
    return render(
        request,
        "partners/bank/capability_detail.html",
        access.context(
            "capabilities",
            capability=capability,
            message_types=_message_type_labels(capability.message_types),
            form=form,
            published=published,
        ),
    )
