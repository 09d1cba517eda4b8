"""The bank in the address, what the signed-in member may do there, and pages that show a secret once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers

from portal.errors import ApplicationError, show_on_form
from portal.forms import sent_before
from portal.models import User
from portal.roles import role_required

from ...models import Partner
from ...policy import BankAction, allowed_actions, refusal
from ...selectors import partner_for_member

member_required = role_required(User.Role.PARTNER_MEMBER)


@dataclass(frozen=True)
class BankAccess:
    """The bank in the address, and what the signed-in member may do there (asked of `partners.policy`)."""

    partner: Partner
    user: User
    actions: frozenset[BankAction]

    @property
    def can_manage(self) -> bool:
        """Return True when the member may change the catalog (and, with it, keys and webhooks)."""
        return BankAction.MANAGE_CATALOG in self.actions

    @property
    def can_manage_members(self) -> bool:
        """Return True when the member may manage people and accept terms: managers only."""
        return BankAction.MANAGE_MEMBERS in self.actions

    @property
    def can_read_trail(self) -> bool:
        """Return True when the member may read the bank's slice of the audit trail (contact and managers)."""
        return BankAction.READ_TRAIL in self.actions

    def require(self, action: BankAction) -> None:
        """Refuse (403, audited once by the policy) a member who may not take `action` here."""
        if action not in self.actions:
            error = refusal(self.user, self.partner, action)
            raise PermissionDenied(error) from error

    def context(self, section: str, **extra: Any) -> dict[str, Any]:
        """Return the template context every bank page shares, with `extra`."""
        return {
            "partner": self.partner,
            "section": section,
            "can_manage": self.can_manage,
            "can_manage_members": self.can_manage_members,
            "can_read_trail": self.can_read_trail,
            **extra,
        }


def bank_access(request: HttpRequest, slug: str) -> BankAccess:
    """Return the member's access to bank `slug`, or raise 404 when they are not one of its members."""
    user = request.user
    assert isinstance(user, User)
    partner = partner_for_member(user=user, slug=slug)
    if partner is None:
        raise Http404("No such bank among yours.")
    return BankAccess(partner, user, allowed_actions(user, partner))


RESENT = (
    "That form was already sent, so nothing new was made: a secret is shown only once. "
    "If it was not copied, rotate it to get a new one."
)


def already_sent(request: HttpRequest, slug: str, page: str) -> HttpResponse | None:
    """Return a redirect to `page` that says why, when this form was sent before (a reloaded secret page)."""
    if not sent_before(request):
        return None
    messages.info(request, RESENT)
    return redirect(page, slug=slug)


def secret_once(request: HttpRequest, access: BankAccess, section: str, **context: Any) -> HttpResponse:
    """Show a new secret in this response only: never stored, never cached, never in a message."""
    response = render(request, "partners/bank/secret_once.html", access.context(section, **context))
    add_never_cache_headers(response)
    return response


def secret_form_page(
    request: HttpRequest,
    access: BankAccess,
    form: forms.Form,
    *,
    section: str,
    action: BankAction,
    make_secret: Callable[[dict[str, Any]], dict[str, Any]],
    listing: Callable[[], dict[str, Any]],
) -> HttpResponse:
    """Answer a list page whose form makes a secret: the new secret, shown once, or the list with the form.

    The section names the page (`partners:<section>`) and its template; posting needs `action`.
    `make_secret` calls the service with the form's cleaned data and returns what the secret page
    shows; `listing` returns what the list shows, read only when the list is shown.
    """
    if request.method == "POST":
        access.require(action)
        if (resent := already_sent(request, access.partner.slug, f"partners:{section}")) is not None:
            return resent
        if form.is_valid():
            try:
                shown = make_secret(form.cleaned_data)
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                return secret_once(request, access, section, **shown)
    return render(request, f"partners/bank/{section}.html", access.context(section, form=form, **listing()))
