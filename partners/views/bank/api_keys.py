"""The bank's API keys: listing, creating (shown once), rotating and revoking them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError

from ... import services
from ...forms import ApiKeyForm
from ...models import PartnerApiKey
from ...policy import BankAction
from ...selectors import api_key_for_partner, api_keys_for_partner
from .access import BankAccess, already_sent, bank_access, member_required, secret_form_page, secret_once


def _key(access: BankAccess, pk: int) -> PartnerApiKey:
    key = api_key_for_partner(partner=access.partner, pk=pk)
    if key is None:
        raise Http404("No such key.")
    return key


@member_required
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's API keys; managers and developers create one here and see it once."""
    access = bank_access(request, slug)

    def create(data: dict[str, Any]) -> dict[str, Any]:
        key, raw_key = services.partner_api_key_create(
            partner=access.partner, name=data["name"], environment=data["environment"], actor=access.user
        )
        return {"kind": "key", "key": key, "secret": raw_key}

    return secret_form_page(
        request,
        access,
        ApiKeyForm(request.POST or None),
        section="keys",
        action=BankAction.MANAGE_KEYS,
        make_secret=create,
        listing=lambda: {"keys": list(api_keys_for_partner(partner=access.partner))},
    )


@member_required
@require_POST
def key_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Revoke an API key at once."""
    access = bank_access(request, slug)
    key = _key(access, pk)
    access.require(BankAction.MANAGE_KEYS)
    services.partner_api_key_revoke(key=key, actor=access.user)
    messages.success(request, f"The key “{key.name}” ({key.masked}) is revoked. Requests with it fail from now on.")
    return redirect("partners:keys", slug=slug)


@member_required
@require_POST
def key_rotate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Replace an API key: show the new one once; the old one works for 24 more hours."""
    access = bank_access(request, slug)
    key = _key(access, pk)
    access.require(BankAction.MANAGE_KEYS)
    if (resent := already_sent(request, slug, "partners:keys")) is not None:
        return resent
    try:
        new_key, raw_key = services.partner_api_key_rotate(key=key, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("partners:keys", slug=slug)
    key.refresh_from_db(fields=["expires_at"])
    return secret_once(request, access, "keys", kind="rotated_key", key=new_key, secret=raw_key, old=key)
