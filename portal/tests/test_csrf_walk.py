"""CSRF gate: every route in the resolver refuses a POST without a token, but views that use no session at all.

Django's CSRF check runs before the view, so the walk POSTs to every route (whatever the view does
with POST): each must answer 403 with the portal's CSRF failure page, for a signed-in person the
route's rule lets in. A view may skip the check (`csrf_exempt`) only when it cannot be a form of a
signed-in person: it never touches the session or the user (the partner API authenticates by key,
the bank simulator's token endpoint is called server to server). That is checked by calling such a
view with a session and a user that fail the test when used, not by a list of exceptions, so a
`@csrf_exempt` on any form view fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import path, resolve
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from portal.tests import test_access_matrix
from portal.tests.access_matrix import ANONYMOUS, PERSONAS, USER_A, Route, iter_routes, rule_for
from portal.tests.signing_in import sign_in_verified
from portal.tests.test_access_matrix import World, _url
from portal.urls import urlpatterns as portal_urlpatterns

ROUTES = list(iter_routes())
# The access matrix's seeded world (two banks, their people, a link, a grant, an event), as a fixture here too.
world = test_access_matrix.world


class Untouchable:
    """Stands in for `request.session` or `request.user`: any use of it fails the test."""

    def __init__(self, what: str) -> None:
        self._what = what

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a view exempt from CSRF uses request.{self._what}")

    def __getattr__(self, name: str) -> Any:
        self._fail()

    __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = __setitem__ = __eq__ = __hash__ = _fail


def signed_in_persona(route: Route) -> str:
    """Return a signed-in persona the route's rule lets in (so the form would be used), else user A."""
    rule = rule_for(route)
    allowed = [persona for persona in PERSONAS if rule is not None and persona in rule.allowed]
    return next((persona for persona in allowed if persona != ANONYMOUS), USER_A)


def exempt_view_problem(url: str) -> str | None:
    """Return why the CSRF-exempt view at `url` needs the check after all, or None when it uses no session."""
    match = resolve(url)
    view_class = getattr(match.func, "cls", None)
    if isinstance(view_class, type) and issubclass(view_class, APIView):
        session_auth = [auth for auth in view_class().get_authenticators() if isinstance(auth, SessionAuthentication)]
        if session_auth:
            return f"{url} is a DRF view with session authentication but no CSRF check"
    request = RequestFactory().post(url, data={})
    request.session = Untouchable("session")  # type: ignore[attr-defined]
    request.user = Untouchable("user")  # type: ignore[assignment]
    try:
        match.func(request, *match.args, **match.kwargs)
    except AssertionError as exc:
        return f"{url}: {exc}"
    return None


def failure_code(response: Any) -> str | None:
    """Return the error code of the portal's error page (HTML) or envelope (JSON, for /healthz) in `response`."""
    if response.get("Content-Type", "").startswith("application/json"):
        return response.json().get("error", {}).get("code")
    return response.context.get("code") if response.context is not None else None


def _walk_one(route: Route, world: World) -> str | None:
    """Return what is wrong with `route`'s answer to a POST without a CSRF token, or None."""
    url = _url(route, world)
    if getattr(resolve(url).func, "csrf_exempt", False):
        return exempt_view_problem(url)
    client = sign_in_verified(
        Client(enforce_csrf_checks=True, raise_request_exception=False), world.users[signed_in_persona(route)]
    )
    response = client.post(url, data={"anything": "x"})
    code = failure_code(response)
    if response.status_code != 403 or code != "csrf_failed":
        return f"{url} answered {response.status_code} ({code or 'not the CSRF failure page'})"
    return None


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])
def test_every_route_refuses_a_post_without_a_csrf_token(route: Route, world: World) -> None:
    problem = _walk_one(route, world)
    assert problem is None, problem


@pytest.mark.django_db
def test_the_walk_covers_the_forms_and_the_api(world: World) -> None:
    names = {route.name for route in ROUTES}
    # Not vacuous: the sign-in and consent forms, the admin and the second factor are walked ...
    assert {"login", "logout", "consent:grant-revoke", "second_factor:verify", "admin:login"} <= names
    # ... and the partner API is exempt because it authenticates by key, not because it is listed.
    exempt = [route for route in ROUTES if getattr(resolve(_url(route, world)).func, "csrf_exempt", False)]
    assert {route.name for route in exempt} >= {"api-events", "api-scopes", "consent:simulator-token"}
    assert all(route.pattern.startswith("api/") or route.name == "consent:simulator-token" for route in exempt)


# A form of a signed-in person that someone exempted from the CSRF check: the walk must catch it.
def _exempt_form(request: Any) -> HttpResponse:
    return HttpResponse(f"Saved for {request.user.email}")


def _exempt_form_view() -> Any:
    from django.views.decorators.csrf import csrf_exempt

    return csrf_exempt(_exempt_form)


urlpatterns = [*portal_urlpatterns, path("sneaky-form/", _exempt_form_view(), name="sneaky-form")]


@pytest.mark.urls("portal.tests.test_csrf_walk")
def test_a_csrf_exempt_form_view_is_caught() -> None:
    problem = exempt_view_problem("/sneaky-form/")
    assert problem is not None
    assert "uses request.user" in problem
