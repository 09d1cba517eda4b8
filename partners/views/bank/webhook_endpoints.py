"""The bank's webhook endpoints: adding one (its secret shown once), switching, rotating, deleting."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError
from portal.outbound_guard import insecure_outbound_allowed

from ... import services
from ...forms import WebhookEndpointForm, WebhookSwitchForm
from ...models import WebhookEndpoint
from ...policy import BankAction
from ...selectors import webhook_endpoint_for_partner, webhook_endpoints_for_partner
from .access import BankAccess, already_sent, bank_access, member_required, secret_form_page, secret_once


def _endpoint(access: BankAccess, pk: int) -> WebhookEndpoint:
    endpoint = webhook_endpoint_for_partner(partner=access.partner, pk=pk)
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


@member_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's webhook endpoints; managers and developers add one here and see its secret once."""
    access = bank_access(request, slug)

    def create(data: dict[str, Any]) -> dict[str, Any]:
        endpoint, secret = services.webhook_endpoint_create(
            partner=access.partner,
            url=data["url"].strip(),
            description=data["description"],
            event_types=data["event_types"],
            actor=access.user,
        )
        return {"kind": "webhook", "endpoint": endpoint, "secret": secret}

    return secret_form_page(
        request,
        access,
        WebhookEndpointForm(request.POST or None),
        section="webhooks",
        action=BankAction.MANAGE_WEBHOOKS,
        make_secret=create,
        listing=lambda: {
            "endpoints": list(webhook_endpoints_for_partner(partner=access.partner)),
            "insecure_outbound": insecure_outbound_allowed(),
        },
    )


@member_required
@require_POST
def webhook_switch(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Switch a webhook endpoint on or off."""
    access = bank_access(request, slug)
    endpoint = _endpoint(access, pk)
    access.require(BankAction.MANAGE_WEBHOOKS)
    form = WebhookSwitchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether to switch the endpoint on or off.")
        return redirect("partners:webhooks", slug=slug)
    is_active = form.cleaned_data["is_active"]
    try:
        services.webhook_endpoint_update(endpoint=endpoint, actor=access.user, is_active=is_active)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        state = "on: it receives webhooks again" if is_active else "off: nothing is sent to it until you switch it on"
        messages.success(request, f"{endpoint.url} is switched {state}.")
    return redirect("partners:webhooks", slug=slug)


@member_required
@require_POST
def webhook_rotate_secret(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Give an endpoint a new signing secret and show it once; the old one also signs for 24 hours."""
    access = bank_access(request, slug)
    endpoint = _endpoint(access, pk)
    access.require(BankAction.MANAGE_WEBHOOKS)
    if (resent := already_sent(request, slug, "partners:webhooks")) is not None:
        return resent
    endpoint, secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=access.user)
    return secret_once(request, access, "webhooks", kind="rotated_webhook", endpoint=endpoint, secret=secret)


@member_required
@require_POST
def webhook_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Delete a webhook endpoint: nothing more is sent to it."""
    access = bank_access(request, slug)
    endpoint = _endpoint(access, pk)
    access.require(BankAction.MANAGE_WEBHOOKS)
    url = endpoint.url
    services.webhook_endpoint_delete(endpoint=endpoint, actor=access.user)
    messages.success(request, f"The endpoint {url} is deleted. Nothing more is sent to it.")
    return redirect("partners:webhooks", slug=slug)
