"""Pages of signed-in sessions: signing in (with "keep me signed in") and the list of your sessions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.errors import NotFound
from portal.models import User
from portal.requests import client_ip

from .forms import SignInForm
from .policy import limits_in_words
from .selectors import sessions_active_for
from .services import Reason, session_begin, session_end, sessions_end


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class LoginView(auth_views.LoginView):
    """Django's sign-in page, which also records whether the person asked to stay signed in."""

    form_class = SignInForm

    def form_valid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        if form.cleaned_data.get("keep_signed_in"):
            # login() started the session as "until the browser closes"; the policy decides if it may be kept.
            session_begin(request=self.request, user=form.get_user(), keep_signed_in=True)
        return response


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    """List the person's signed-in sessions, this device's first, with buttons to end the others."""
    sessions = sessions_active_for(user=_person(request), current_key=request.session.session_key, now=timezone.now())
    context = {
        "sessions": sessions,
        "others": sum(1 for item in sessions if not item.this_device),
        "limits": limits_in_words(),
    }
    return render(request, "sessions/list.html", context)


@login_required
@require_POST
def end_others(request: HttpRequest) -> HttpResponse:
    """Sign the person out on every device but this one."""
    count = sessions_end(
        user=_person(request),
        reason=Reason.SIGNED_OUT_ELSEWHERE,
        keep_key=request.session.session_key,
        ip=client_ip(request),
    )
    if count:
        messages.success(request, f"Signed out on {count} other device{'s' if count != 1 else ''}.")
    else:
        messages.info(request, "You were not signed in anywhere else.")
    return redirect("sessions:list")


@login_required
@require_POST
def end_one(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign the person out of one of their other sessions."""
    try:
        session_end(
            user=_person(request), session_id=pk, current_key=request.session.session_key, ip=client_ip(request)
        )
    except NotFound as error:
        raise Http404(error.message) from error
    messages.success(request, "That device is signed out.")
    return redirect("sessions:list")
