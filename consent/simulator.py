"""The built-in bank simulator: a bank's authorisation page and token endpoint, for the sandbox and the demo.

It stands in for a bank's own servers, so its writes (the codes it issues) are the bank's business
and are not audited; the portal's side of the flow (`consent.services.linking`) is. It exists only
where `PORTAL_DEMO_FEATURES` is on; elsewhere every page answers 404.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from partners.models import Partner
from portal.models import User
from portal.roles import role_required

from .connectors import CLIENT_ID, CodeExchangeError, LinkedAccount, callback_path
from .models import SimulatedAuthorisationCode, sha256_hex
from .pkce import verifier_matches

ACCOUNT_KINDS = ("Current account", "Savings account")


@dataclass(frozen=True)
class SimulatedAccount:
    """An account the simulated bank pretends the person holds."""

    number: int
    kind: str
    account_ref: str
    account_mask: str


def simulated_accounts(*, user: User, partner: Partner) -> list[SimulatedAccount]:
    """Return the person's pretend accounts at `partner`: stable, so linking one again finds the same link."""
    accounts = []
    for number, kind in enumerate(ACCOUNT_KINDS):
        digest = hmac.new(
            settings.SECRET_KEY.encode(), f"simulator:{partner.pk}:{user.pk}:{number}".encode(), hashlib.sha256
        ).hexdigest()
        account_ref = f"sim-{digest[:24]}"
        accounts.append(SimulatedAccount(number, kind, account_ref, simulated_account_mask(account_ref)))
    return accounts


def simulated_account_mask(account_ref: str) -> str:
    """Return the masked number the simulated bank shows for its account `account_ref` ("•••• 1234").

    The bank knows its own accounts by reference, so the demo bank's events carry the same mask the
    person saw when linking.
    """
    digits = account_ref[4:12] if account_ref.startswith("sim-") else hashlib.sha256(account_ref.encode()).hexdigest()
    try:
        number = int(digits[:8], 16)
    except ValueError:  # a reference the simulator did not issue: still the same mask every time
        number = int(hashlib.sha256(account_ref.encode()).hexdigest()[:8], 16)
    return f"•••• {number % 10000:04d}"


def simulator_issue_code(*, partner: Partner, account: SimulatedAccount, code_challenge: str, redirect_uri: str) -> str:
    """Return a new authorisation code for `account`: single use, valid for a minute, bound to the challenge."""
    code = secrets.token_urlsafe(32)
    SimulatedAuthorisationCode.objects.create(
        partner=partner,
        code_digest=sha256_hex(code),
        code_challenge=code_challenge,
        redirect_uri=redirect_uri,
        account_ref=account.account_ref,
        account_mask=account.account_mask,
        expires_at=timezone.now() + SimulatedAuthorisationCode.VALID_FOR,
    )
    return code


def simulator_exchange_code(
    *, partner: Partner, code: str, code_verifier: str, redirect_uri: str, client_id: str
) -> LinkedAccount:
    """Return the account behind `code` once; refuse unknown, replayed, expired or PKCE-mismatched codes."""
    if client_id != CLIENT_ID:
        raise CodeExchangeError("invalid_client", "unknown client")
    with transaction.atomic():
        issued = (
            SimulatedAuthorisationCode.objects.select_for_update()
            .filter(partner=partner, code_digest=sha256_hex(code or ""))
            .first()
        )
        if issued is None:
            raise CodeExchangeError("invalid_grant", "the code is unknown")
        if issued.used_at is not None:
            raise CodeExchangeError("invalid_grant", "the code was already used")
        # Spent on first presentation, even when the rest of the request is wrong.
        issued.used_at = timezone.now()
        issued.save(update_fields=["used_at"])
    if issued.expires_at <= timezone.now():
        raise CodeExchangeError("invalid_grant", "the code has expired")
    if issued.redirect_uri != redirect_uri:
        raise CodeExchangeError("invalid_grant", "the redirect address does not match")
    if not verifier_matches(code_verifier or "", issued.code_challenge):
        raise CodeExchangeError("invalid_grant", "the PKCE code verifier does not match")
    return LinkedAccount(account_ref=issued.account_ref, account_mask=issued.account_mask)


# --- Pages and endpoint -------------------------------------------------------------------------------

View = Callable[..., HttpResponseBase]


def demo_only(view: View) -> View:
    """Answer 404 unless demo features are on."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.PORTAL_DEMO_FEATURES:
            raise Http404("The bank simulator is off.")
        return view(request, *args, **kwargs)

    return wrapped


def _simulated_partner(slug: str) -> Partner:
    partner = Partner.objects.filter(slug=slug, status__in=[Partner.Status.SANDBOX, Partner.Status.LIVE]).first()
    if partner is None:
        raise Http404("No such bank in the simulator.")
    return partner


def _authorisation_problem(params: Any) -> str:
    """Return what is wrong with an authorisation request, or an empty string."""
    if params.get("response_type") != "code":
        return "It must ask for an authorisation code (response_type=code)."
    if params.get("client_id") != CLIENT_ID:
        return "It comes from a client this bank does not know."
    if params.get("redirect_uri") != callback_path():
        return "It asks to send you back to an address this bank does not know."
    if not params.get("state"):
        return "It has no state value."
    if params.get("code_challenge_method") != "S256" or len(params.get("code_challenge", "")) != 43:
        return "It has no valid PKCE code challenge (S256)."
    return ""


def _back_to_portal(params: Any, **values: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{params['redirect_uri']}?{urlencode({**values, 'state': params['state']})}")


@demo_only
@never_cache
@require_http_methods(["GET", "POST"])
@role_required(User.Role.END_USER)
def simulator_authorize(request: HttpRequest, slug: str) -> HttpResponse:
    """Play the bank's authorisation page: the person picks an account and allows or denies the portal."""
    partner = _simulated_partner(slug)
    params = request.GET if request.method == "GET" else request.POST
    problem = _authorisation_problem(params)
    if problem:
        return render(request, "consent/simulator_error.html", {"partner": partner, "problem": problem}, status=400)
    user = request.user
    assert isinstance(user, User)
    accounts = simulated_accounts(user=user, partner=partner)
    error = ""
    if request.method == "POST":
        if request.POST.get("decision") == "deny":
            return _back_to_portal(params, error="access_denied")
        chosen = next((a for a in accounts if request.POST.get("account") == str(a.number)), None)
        if chosen is not None:
            code = simulator_issue_code(
                partner=partner,
                account=chosen,
                code_challenge=params["code_challenge"],
                redirect_uri=params["redirect_uri"],
            )
            return _back_to_portal(params, code=code)
        error = "Choose the account to connect."
    hidden = {
        name: params.get(name, "")
        for name in ("response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method")
    }
    return render(
        request,
        "consent/simulator_authorize.html",
        {"partner": partner, "accounts": accounts, "hidden": hidden, "error": error},
        status=400 if error else 200,
    )


@demo_only
@csrf_exempt  # called by the portal's server with the PKCE verifier, not by a browser
@require_POST
def simulator_token(request: HttpRequest, slug: str) -> JsonResponse:
    """Play the bank's token endpoint (RFC 6749 §4.1.3, form-encoded): a code and verifier for the account."""
    partner = _simulated_partner(slug)
    if request.POST.get("grant_type") != "authorization_code":
        return JsonResponse(
            {"error": "unsupported_grant_type", "error_description": "Use grant_type=authorization_code."}, status=400
        )
    if not request.POST.get("code") or not request.POST.get("code_verifier"):
        return JsonResponse(
            {"error": "invalid_request", "error_description": "Send code, code_verifier and redirect_uri."},
            status=400,
        )
    try:
        account = simulator_exchange_code(
            partner=partner,
            code=request.POST["code"],
            code_verifier=request.POST["code_verifier"],
            redirect_uri=request.POST.get("redirect_uri", ""),
            client_id=request.POST.get("client_id", ""),
        )
    except CodeExchangeError as exc:
        return JsonResponse({"error": exc.error, "error_description": exc.description}, status=400)
    return JsonResponse(
        {"token_type": "none", "account_ref": account.account_ref, "account_mask": account.account_mask},
        headers={"Cache-Control": "no-store"},
    )
