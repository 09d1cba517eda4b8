"""Site pages: the landing page, sign-up, audited password pages, the role router, /healthz and the error pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .account_mail import sign_up_tokens
from .api.exceptions import error_body
from .errors import ApplicationError, show_on_form
from .forms import (
    AuditedPasswordChangeForm,
    AuditedSetPasswordForm,
    LimitedPasswordResetForm,
    SignUpConfirmForm,
    SignUpForm,
)
from .health import OK, health_report
from .lockout import LockedOut, locked_out_response, lockout_count
from .models import User
from .requests import client_ip
from .services import user_confirm_sign_up, user_sign_up_request

ROLE_HOMES = {
    User.Role.END_USER: "consent:dashboard",
    User.Role.PARTNER_MEMBER: "partners:home",
    User.Role.PLATFORM_STAFF: "partners:staff-home",
    User.Role.COMPLIANCE_STAFF: "compliance:home",
}


def site_index(request: HttpRequest) -> HttpResponse:
    """Show the public landing page: what the portal promises and where to start."""
    return render(request, "portal/index.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the signed-in person to their role's home page."""
    user = request.user
    assert isinstance(user, User)
    return redirect(ROLE_HOMES[user.primary_role])


def sign_up(request: HttpRequest) -> HttpResponse:
    """Let a person ask for an end-user account; whatever the address, the answer is "check your email"."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            lockout_count(request, action="sign_up", username=email)
        except LockedOut as error:
            return locked_out_response(request, error)
        try:
            user_sign_up_request(
                email=email,
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
                ip=client_ip(request),
            )
        except ApplicationError as error:
            show_on_form(form, error)
        else:
            return redirect("sign-up-sent")
    return render(request, "registration/sign_up.html", {"form": form})


def sign_up_sent(request: HttpRequest) -> HttpResponse:
    """Say that a link is on its way: the same words whether or not the address had an account."""
    return render(request, "registration/sign_up_sent.html")


def sign_up_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Open the account of a followed sign-up link (on a button, since mail scanners open links), and sign in."""
    try:
        user: User | None = User.objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    valid = user is not None and user.awaiting_confirmation and sign_up_tokens.check_token(user, token)
    form = SignUpConfirmForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and valid and user is not None:
        if form.is_valid():
            try:
                user = user_confirm_sign_up(user=user, password=form.cleaned_data["password"], ip=client_ip(request))
            except ApplicationError as error:
                if error.code != "password_mismatch":
                    messages.error(request, error.message)
                    return redirect("login")
                show_on_form(form, error)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, "Your account is ready. Link a bank when you want to.")
                return redirect("home")
        status = 400
    context = {"valid": valid, "email": user.email if valid and user else "", "form": form}
    return render(request, "registration/sign_up_confirm.html", context, status=status)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request page: the same answer for every address, counted by the lockout."""

    form_class = LimitedPasswordResetForm

    def form_valid(self, form: LimitedPasswordResetForm) -> HttpResponse:
        try:
            lockout_count(self.request, action="password_reset", username=form.cleaned_data["email"])
        except LockedOut as error:
            return locked_out_response(self.request, error)
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change page (the portal's and the admin's), saving through the audited service."""

    form_class = AuditedPasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        # This session goes on (Django gives it a new key); the service ends every other one.
        session_key = self.request.session.session_key
        return {**super().get_form_kwargs(), "ip": client_ip(self.request), "session_key": session_key}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's page behind a password reset link, saving through the audited service."""

    form_class = AuditedSetPasswordForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "ip": client_ip(self.request)}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report database, broker and worker health; 503 when anything is not ok."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == OK else 503)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _error_page(request: HttpRequest, status: int, code: str, title: str, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body(code, message), status=status)
    context = {"title": title, "message": message, "status": status, "code": code}
    return render(request, "errors/error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Show the friendly 400 page."""
    return _error_page(request, 400, "bad_request", "We could not read that request", "Go back and try again.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Show the friendly 403 page; a rule's refusal (a `PermissionDenied` carrying it) says what to do."""
    refused = exception.args[0] if exception is not None and exception.args else None
    if isinstance(refused, ApplicationError):
        return _error_page(request, 403, refused.code, "You cannot do this", refused.message)
    return _error_page(
        request,
        403,
        "forbidden",
        "You cannot open this page",
        "This page belongs to another kind of account. Sign in with the right account, or go to your home page.",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Show the friendly 404 page."""
    return _error_page(
        request,
        404,
        "not_found",
        "Page not found",
        "Check the address, or go back to your home page. If you followed a link here, it may be out of date.",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """Show the friendly 500 page; it renders without any context processor that could fail."""
    if _wants_json(request):
        return JsonResponse(
            error_body("internal_error", "Something went wrong on our side. Try again; if it persists, tell us."),
            status=500,
        )
    from django.template import loader

    template = loader.get_template("errors/500.html")
    return HttpResponse(template.render({}), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponseBase:
    """Show the friendly page for a form that lost its security token."""
    return _error_page(
        request,
        403,
        "csrf_failed",
        "This form has expired",
        "Go back, reload the page and send the form again.",
    )
