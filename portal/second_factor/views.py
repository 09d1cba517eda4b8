"""The second factor's pages: the code page after sign-in, setting up an app, recovery codes shown once, security."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.errors import ApplicationError, PermissionDenied
from portal.lockout import LockedOut, locked_out_response, lockout_check, lockout_record_failure, serialized
from portal.models import RecoveryCodeDevice, User
from portal.requests import client_ip

from . import totp
from .forms import EnrolForm, VerifyForm
from .rules import Due, second_factor_due, second_factor_required
from .services import recovery_codes_regenerate, second_factor_enrol, second_factor_remove, second_factor_verify

SETUP_KEY_SESSION_KEY = "second_factor_setup_key"  # the key being set up, until a code confirms it
CODES_SESSION_KEY = "second_factor_recovery_codes"  # new recovery codes, until the page shows them once
# While a code is due the header offers no links: each would only lead back here (sign-out stays).
PENDING = {"nav_items": [], "second_factor_pending": True}


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _next_url(request: HttpRequest) -> str:
    """Return the page the person was going to, if it is ours, else their home."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return reverse("home")


def _with_next(url_name: str, request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next")
    return reverse(url_name) + (f"?{urlencode({'next': wanted})}" if wanted else "")


def _verified(request: HttpRequest, device: Device) -> None:
    """Mark this session as verified by `device`, under a new session key (the old one may have leaked)."""
    request.session.cycle_key()
    otp_login(request, device)


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Ask a signed-in person with a second factor for a code: their app's, or a recovery code."""
    user = _person(request)
    due = second_factor_due(user)
    if due is Due.ENROL:
        return redirect(_with_next("second_factor:set-up", request))
    if due is None:
        return redirect(_next_url(request))
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # One code at a time per account and address, under the same lockout as the password: a
        # refused code counts as a failed sign-in, and a locked account or address gets no check at all.
        refusal: ApplicationError | None = None
        with serialized(request, username=user.email):
            try:
                lockout_check(request, username=user.email)
                device = second_factor_verify(user=user, code=form.cleaned_data["code"], ip=client_ip(request))
            except LockedOut as error:
                return locked_out_response(request, error)
            except ApplicationError as error:
                lockout_record_failure(request, username=user.email)
                refusal = error
        if refusal is not None:
            form.add_error("code", refusal.message)
        else:
            _verified(request, device)
            if isinstance(device, RecoveryCodeDevice):
                messages.warning(
                    request,
                    f"You used a recovery code; {device.codes_left()} are left. If you lost your phone, "
                    "set up a new authenticator app from your security page.",
                )
            return redirect(_next_url(request))
    context = {"form": form, "next": request.GET.get("next", ""), **PENDING}
    return render(request, "second_factor/verify.html", context)


@login_required
def set_up(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: a QR code and the key as text, confirmed by one code from the app."""
    user = _person(request)
    if second_factor_due(user) is Due.VERIFY:
        # Whoever has an app proves it before replacing it: the password alone must not swap the phone.
        return redirect(_with_next("second_factor:verify", request))
    key = request.session.get(SETUP_KEY_SESSION_KEY) or totp.new_key()
    request.session[SETUP_KEY_SESSION_KEY] = key
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enrolment = second_factor_enrol(user=user, key=key, code=form.cleaned_data["code"], ip=client_ip(request))
        except ApplicationError as error:
            form.add_error("code", error.message)
        else:
            _verified(request, enrolment.device)
            request.session.pop(SETUP_KEY_SESSION_KEY, None)
            request.session[CODES_SESSION_KEY] = enrolment.recovery_codes
            messages.success(request, "Your authenticator app is set up.")
            return redirect(_with_next("second_factor:recovery-codes", request))
    context = {
        "form": form,
        "qr_code": totp.qr_data_uri(totp.config_url(user, key)),
        "key_text": totp.key_text(key),
        "required": second_factor_required(user),
        "replacing": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        "next": request.GET.get("next", ""),
        **(PENDING if second_factor_due(user) else {}),
    }
    return render(request, "second_factor/set_up.html", context)


@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """Show new recovery codes once: the session forgets them as the page is drawn."""
    codes = request.session.pop(CODES_SESSION_KEY, None)
    return render(request, "second_factor/recovery_codes.html", {"codes": codes, "next": _next_url(request)})


@login_required
def security(request: HttpRequest) -> HttpResponse:
    """Show whether the second factor is on, and what the person may do with it."""
    user = _person(request)
    app = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    recovery = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
    context = {
        "app": app,
        "codes_left": recovery.codes_left() if recovery else 0,
        "required": second_factor_required(user),
    }
    return render(request, "second_factor/security.html", context)


@login_required
@require_POST
def regenerate(request: HttpRequest) -> HttpResponse:
    """Make new recovery codes (the old ones stop working) and show them once."""
    try:
        codes = recovery_codes_regenerate(user=_person(request), ip=client_ip(request))
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("second_factor:security")
    request.session[CODES_SESSION_KEY] = codes
    return redirect(
        f"{reverse('second_factor:recovery-codes')}?{urlencode({'next': reverse('second_factor:security')})}"
    )


@login_required
@require_POST
def remove(request: HttpRequest) -> HttpResponse:
    """Turn off an end user's second factor; staff and bank members are told that they must keep one."""
    try:
        second_factor_remove(user=_person(request), ip=client_ip(request))
    except PermissionDenied as error:
        raise DjangoPermissionDenied(error) from error
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your second factor is off. Signing in now needs only your password.")
    return redirect("second_factor:security")
