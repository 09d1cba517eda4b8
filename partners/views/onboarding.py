"""Public pages: a bank applies; an invited person accepts their invitation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from portal.errors import ApplicationError, show_on_form
from portal.models import User
from portal.requests import client_ip
from portal.services import user_sign_up

from ..api.throttling import ApplicationRateThrottle
from ..forms import InvitationAccountForm, PartnerApplicationForm
from ..models import Invitation
from ..selectors import invitation_email_has_account
from ..services import invitation_accept, invitation_check, invitation_for_token, partner_apply

APPLIED_SESSION_KEY = "partners_applied"


def apply(request: HttpRequest) -> HttpResponse:
    """Let a bank apply to join; its first manager confirms their email through an invitation."""
    form = PartnerApplicationForm(request.POST or None)
    throttle = ApplicationRateThrottle()
    if request.method == "POST" and form.is_valid() and not throttle.allows(request):
        minutes = max(1, round((throttle.wait() or 60) / 60))
        show_on_form(
            form,
            ApplicationError(
                f"Too many applications came from your network in a short time. Try again in {minutes} minutes, "
                "or write to the platform team if several banks apply from one office.",
                code="rate_limited",
            ),
        )
        return render(request, "partners/onboarding/apply.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            partner, _invitation = partner_apply(
                legal_name=data["legal_name"],
                country=data["country"],
                identifier_type=data["identifier_type"],
                identifier=data["identifier"],
                website=data["website"],
                security_contact=data["security_contact"],
                manager_email=data["manager_email"],
                ip=client_ip(request),
            )
        except ApplicationError as error:
            show_on_form(form, error)
        else:
            request.session[APPLIED_SESSION_KEY] = {"legal_name": partner.legal_name, "email": data["manager_email"]}
            return redirect("partners:apply-sent")
    return render(request, "partners/onboarding/apply.html", {"form": form})


def apply_sent(request: HttpRequest) -> HttpResponse:
    """Tell the applicant to open the link we emailed them."""
    return render(request, "partners/onboarding/apply_sent.html", {"applied": request.session.get(APPLIED_SESSION_KEY)})


PROBLEM_TITLES = {
    "invitation_invalid": "This invitation link does not work",
    "invitation_used": "This invitation was already used",
    "invitation_revoked": "This invitation was withdrawn",
    "invitation_expired": "This invitation has expired",
    "invitation_email_mismatch": "This invitation is for someone else",
}


# The emailed link holds the secret token. Like Django's password reset, the view keeps it in the
# session and redirects to this placeholder, so that the token leaves no trace in the address bar,
# in Referer headers, or in the logs of any later request.
TOKEN_SESSION_KEY = "_partners_invitation_token"  # noqa: S105 (a session key, not a secret)
TOKEN_PLACEHOLDER = "accept"  # noqa: S105 (stands in for the token in the address)


@never_cache
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Show an invitation and let the invited person accept it, creating their account if needed."""
    if token != TOKEN_PLACEHOLDER:
        request.session[TOKEN_SESSION_KEY] = token
        response = redirect("partners:invitation", token=TOKEN_PLACEHOLDER)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    return _invitation_page(request, request.session.get(TOKEN_SESSION_KEY, ""))


def _invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    user = request.user if isinstance(request.user, User) and request.user.is_authenticated else None
    try:
        invitation = invitation_for_token(token)
        invitation_check(token=token, user=user)
    except ApplicationError as error:
        # Looking is allowed to anyone holding the link; only accepting is refused.
        status = 200 if request.method == "GET" and error.code == "invitation_email_mismatch" else error.status
        return _invitation_problem(request, error, status, token)
    if request.method == "POST" and request.POST.get("invitation") != str(invitation.pk):
        # Another invitation link was opened in this browser since this page was shown.
        messages.warning(request, "You opened another invitation since. Check the details below, then try again.")
        return redirect("partners:invitation", token=TOKEN_PLACEHOLDER)
    if user is not None:
        return _accept_signed_in(request, token, invitation, user)
    if invitation_email_has_account(invitation=invitation):
        return render(request, "partners/onboarding/invitation.html", {"invitation": invitation, "has_account": True})
    return _sign_up_and_accept(request, token, invitation)


def _accept_signed_in(request: HttpRequest, token: str, invitation: Invitation, user: User) -> HttpResponse:
    if request.method == "POST":
        try:
            membership = invitation_accept(token=token, user=user, ip=client_ip(request))
        except ApplicationError as error:
            return _invitation_problem(request, error, error.status, token)
        request.session.pop(TOKEN_SESSION_KEY, None)
        messages.success(request, f"You joined {membership.partner} as {membership.get_role_display().lower()}.")
        return redirect("partners:detail", slug=membership.partner.slug)
    return render(request, "partners/onboarding/invitation.html", {"invitation": invitation})


def _sign_up_and_accept(request: HttpRequest, token: str, invitation: Invitation) -> HttpResponse:
    form = InvitationAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        ip = client_ip(request)
        try:
            # One transaction: an invitation that fails to be accepted leaves no account behind.
            with transaction.atomic():
                user = user_sign_up(
                    email=invitation.email,
                    password=form.cleaned_data["password1"],
                    full_name=form.cleaned_data["full_name"],
                    ip=ip,
                )
                membership = invitation_accept(token=token, user=user, ip=ip)
        except ApplicationError as error:
            if error.code.startswith("invitation_"):
                return _invitation_problem(request, error, error.status, token)
            show_on_form(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop(TOKEN_SESSION_KEY, None)
            messages.success(
                request,
                f"Your account is ready and you joined {membership.partner} as "
                f"{membership.get_role_display().lower()}.",
            )
            return redirect("partners:detail", slug=membership.partner.slug)
    return render(request, "partners/onboarding/invitation.html", {"invitation": invitation, "form": form})


def _invitation_problem(request: HttpRequest, error: ApplicationError, status: int, token: str) -> HttpResponse:
    context = {
        "title": PROBLEM_TITLES.get(error.code, "This invitation cannot be accepted"),
        "error": error,
        # Signing out empties the session, so the way back in goes through the emailed link again.
        "after_sign_out": reverse("partners:invitation", kwargs={"token": token}) if token else "",
    }
    return render(request, "partners/onboarding/invitation_problem.html", context, status=status)
