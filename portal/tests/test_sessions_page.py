"""The sessions page: your own signed-in browsers, this device marked, signing out one or everywhere else."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from compliance.models import AuditEntry
from portal.models import User, UserSession
from portal.tests.factories import UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db
PAGE = "/accounts/sessions/"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Safari/604.1"


def _signed_in(user: User, agent: str = FIREFOX, ip: str = "127.0.0.1") -> Client:
    """Sign `user` in on a new client, and let one page note its device and address as a browser would."""
    client = Client(headers={"user-agent": agent}, REMOTE_ADDR=ip)
    sign_in_verified(client, user)
    session = client.session
    session["portal_session"]["seen"] -= 120  # as if a while ago: the next page writes its activity down
    session.save()
    assert client.get("/home/").status_code == 302
    return client


def test_the_page_lists_my_sessions_marks_this_device_and_hides_keys() -> None:
    me = UserFactory()
    here = _signed_in(me)
    phone = _signed_in(me, IPHONE, "198.51.100.7")
    someone_else = _signed_in(UserFactory(), IPHONE, "203.0.113.9")
    html = here.get(PAGE).content.decode()
    assert html.count('class="card session') == 2
    assert html.count("This device") == 1
    assert html.index("Firefox on Windows") < html.index("This device") < html.index("Safari on iPhone")
    assert "198.51.100.7" in html
    assert "203.0.113.9" not in html  # only my own
    assert here.session.session_key not in html
    assert phone.session.session_key not in html
    assert someone_else.session.session_key not in html
    assert html.count("Sign out this session") == 1  # not for this device: that is "Sign out"
    assert "Sign out everywhere else" in html


def test_the_security_page_links_to_it(client: Client) -> None:
    sign_in_verified(client, UserFactory())
    assert f'href="{PAGE}"' in client.get("/accounts/security/").content.decode()


def test_sign_out_everywhere_else_keeps_this_device() -> None:
    me = UserFactory()
    here, laptop, phone = _signed_in(me), _signed_in(me), _signed_in(me, IPHONE)
    response = here.post(f"{PAGE}sign-out-others/", follow=True)
    assert "Signed out on 2 other devices." in response.content.decode()
    assert here.get("/home/").status_code == 302
    assert here.get("/me/").status_code == 200
    for client in (laptop, phone):
        assert client.get("/me/").url.startswith("/accounts/login/")
    assert UserSession.objects.filter(user=me).count() == 1
    entry = AuditEntry.objects.get(action="auth.sessions_ended")
    assert entry.data == {"reason": "signed_out_elsewhere", "count": 2}
    again = here.post(f"{PAGE}sign-out-others/", follow=True)
    assert "You were not signed in anywhere else." in again.content.decode()


def test_sign_out_one_session() -> None:
    me = UserFactory()
    here, laptop, phone = _signed_in(me), _signed_in(me), _signed_in(me, IPHONE)
    row = UserSession.objects.get(session_id=phone.session.session_key)
    response = here.post(f"{PAGE}{row.pk}/sign-out/", follow=True)
    assert "That device is signed out." in response.content.decode()
    assert phone.get("/me/").url.startswith("/accounts/login/")
    assert laptop.get("/me/").status_code == 200
    assert here.post(f"{PAGE}{row.pk}/sign-out/").status_code == 404  # ended already


def test_nobody_signs_out_another_persons_session_or_this_device_through_the_list() -> None:
    me, them = UserFactory(), UserFactory()
    here, theirs = _signed_in(me), _signed_in(them)
    their_row = UserSession.objects.get(user=them)
    assert here.post(f"{PAGE}{their_row.pk}/sign-out/").status_code == 404
    assert theirs.get("/me/").status_code == 200
    my_row = UserSession.objects.get(session_id=here.session.session_key)
    assert here.post(f"{PAGE}{my_row.pk}/sign-out/").status_code == 404
    assert here.get("/me/").status_code == 200
    assert not AuditEntry.objects.filter(action="auth.sessions_ended").exists()


def test_signing_out_needs_the_forms_token() -> None:
    me = UserFactory()
    here = Client(enforce_csrf_checks=True)
    sign_in_verified(here, me)
    other = _signed_in(me)
    assert here.post(f"{PAGE}sign-out-others/").status_code == 403
    assert other.get("/me/").status_code == 200


@pytest.mark.parametrize("sessions", [2, 6])
def test_the_page_answers_in_pinned_queries(sessions: int, django_assert_num_queries: Any) -> None:
    me = UserFactory()
    here = _signed_in(me)
    for _ in range(sessions - 1):
        _signed_in(me, IPHONE)
    here.get(PAGE)
    # session, person, their second-factor app, their roles for the header (groups, memberships), their sessions
    with django_assert_num_queries(6):
        html = here.get(PAGE).content.decode()
    assert html.count('class="card session') == sessions
