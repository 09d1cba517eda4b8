"""Until a session gives a code, staff and bank members reach nothing but the second factor's pages: every route."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from portal.models import User
from portal.tests import test_access_matrix
from portal.tests.access_matrix import BANK_A, BANK_B, COMPLIANCE, STAFF, iter_routes, rule_for
from portal.tests.signing_in import VERIFY_PATH, sign_in_verified, totp_device_for
from portal.tests.test_access_matrix import World, _url

SET_UP_PATH = "/accounts/second-factor/set-up/"
# Answer without the code: the second factor's own pages, sign-out, and what never uses a session.
OPEN_ROUTES = {"second_factor:verify", "second_factor:set-up", "logout"}
OPEN_PREFIXES = ("/api/", "/healthz")
world = test_access_matrix.world  # the access matrix's personas and objects, as a fixture here too


def _unverified(user: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)  # the password step only
    return client


@pytest.mark.django_db
def test_unverified_staff_and_bank_members_are_sent_to_the_code_page_from_every_route(world: World) -> None:
    for persona in (STAFF, COMPLIANCE, BANK_A):
        totp_device_for(world.users[persona])
    expected = {STAFF: VERIFY_PATH, COMPLIANCE: VERIFY_PATH, BANK_A: VERIFY_PATH, BANK_B: SET_UP_PATH}
    clients = {persona: _unverified(world.users[persona]) for persona in expected}
    wrong: list[str] = []
    checked = 0
    for route in iter_routes():
        rule = rule_for(route)
        assert rule is not None
        url = _url(route, world)
        if route.name in OPEN_ROUTES or url.startswith(OPEN_PREFIXES):
            continue
        for persona, target in expected.items():
            response = getattr(clients[persona], rule.method)(url)
            location = response.headers.get("Location", "")
            if response.status_code != 302 or location.split("?")[0] != target:
                wrong.append(f"{persona} {rule.method.upper()} {url}: {response.status_code} {location}")
        checked += 1
    assert not wrong, "Reached without a code:\n" + "\n".join(wrong)
    assert checked > 100  # every kind of page: people's, banks', staff's, compliance's and the admin's


@pytest.mark.django_db
def test_the_code_page_keeps_where_the_person_was_going(world: World) -> None:
    client = _unverified(world.users[STAFF])
    totp_device_for(world.users[STAFF])
    assert client.get("/admin/portal/user/?q=x").url == f"{VERIFY_PATH}?next=%2Fadmin%2Fportal%2Fuser%2F%3Fq%3Dx"


@pytest.mark.django_db
def test_the_api_answers_bank_keys_whoever_is_signed_in_in_the_browser(world: World) -> None:
    client = _unverified(world.users[BANK_A])
    response = client.get("/api/v1/partner/", headers={"authorization": f"Bearer {world.keys[BANK_A]}"})
    assert response.status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_the_admin_site_itself_wants_a_verified_session(world: World, rf: RequestFactory) -> None:
    staff = world.users[STAFF]
    request: Any = rf.get("/admin/")
    request.user = staff
    staff.is_verified = lambda: False  # type: ignore[attr-defined]
    assert not admin.site.has_permission(request)
    staff.is_verified = lambda: True  # type: ignore[attr-defined]
    assert admin.site.has_permission(request)
    assert sign_in_verified(Client(), staff).get("/admin/").status_code == 200


@pytest.mark.django_db
def test_end_users_without_an_app_are_not_asked_for_a_code(world: World) -> None:
    client = _unverified(world.users["user_a"])
    assert client.get("/me/").status_code == 200
