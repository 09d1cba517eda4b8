"""The bank's people: members, pending invitations, inviting, removing and withdrawing."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError, show_on_form

from ... import services
from ...forms import InvitationForm
from ...policy import BankAction
from ...selectors import (
    invitation_for_partner,
    invitations_pending_for_partner,
    membership_for_partner,
    memberships_for_partner,
)
from .access import bank_access, member_required


@member_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's members and pending invitations; managers invite people here."""
    access = bank_access(request, slug)
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        access.require(BankAction.MANAGE_MEMBERS)
        if form.is_valid():
            try:
                invitation, _token = services.invitation_create(
                    partner=access.partner,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    actor=access.user,
                )
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                messages.success(request, f"We emailed an invitation to {invitation.email}. It works once, for 7 days.")
                return redirect("partners:members", slug=slug)
    return render(
        request,
        "partners/bank/members.html",
        access.context(
            "members",
            memberships=list(memberships_for_partner(partner=access.partner)),
            invitations=list(invitations_pending_for_partner(partner=access.partner)),
            form=form,
        ),
    )


@member_required
@require_POST
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Remove a member from the bank (managers only); the bank keeps at least one manager."""
    access = bank_access(request, slug)
    membership = membership_for_partner(partner=access.partner, pk=pk)
    if membership is None:
        raise Http404("No such member.")
    access.require(BankAction.MANAGE_MEMBERS)
    try:
        services.partner_member_remove(membership=membership, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("partners:members", slug=slug)
    if membership.user_id == access.user.pk:
        messages.success(request, f"You are no longer a member of {access.partner}.")
        return redirect("home")
    messages.success(request, f"{membership.user.email} is no longer a member of {access.partner}.")
    return redirect("partners:members", slug=slug)


@member_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Withdraw a pending invitation (managers only): its link stops working at once."""
    access = bank_access(request, slug)
    invitation = invitation_for_partner(partner=access.partner, pk=pk)
    if invitation is None:
        raise Http404("No such invitation.")
    access.require(BankAction.MANAGE_MEMBERS)
    try:
        services.invitation_revoke(invitation=invitation, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The invitation to {invitation.email} is withdrawn. Its link no longer works.")
    return redirect("partners:members", slug=slug)
