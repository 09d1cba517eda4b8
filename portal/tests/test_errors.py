"""People get friendly error pages; the API gets its error envelope; nobody gets a stack trace."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from portal.tests.factories import UserFactory
from portal.tests.signing_in import sign_in_verified
from portal.urls import urlpatterns as portal_urlpatterns


def _explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals that must not leak")


urlpatterns = [
    path("boom/", _explode),
    path("api/v1/boom/", _explode),
    *portal_urlpatterns,
]
handler500 = "portal.views.server_error"
handler404 = "portal.views.page_not_found"


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_404(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_unknown_api_address_answers_in_the_error_envelope(client: Client) -> None:
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_wrong_role_gets_a_friendly_403(client: Client) -> None:
    sign_in_verified(client, UserFactory())
    response = client.get("/compliance/")
    assert response.status_code == 403
    assert "You cannot open this page" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.urls("portal.tests.test_errors")
def test_a_crash_shows_a_friendly_500_without_the_trace() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "secret internals" not in html
    assert "Traceback" not in html
    api = client.get("/api/v1/boom/")
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in api.content.decode()


@pytest.mark.django_db
def test_a_form_with_a_stale_csrf_token_gets_a_friendly_page() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "a@example.test", "password": "x"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
