"""Sessions through the site: new keys, the limits by kind as time moves, and every way a person's sessions end."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.utils import timezone

from compliance.models import AuditEntry
from partners.tests.factories import PartnerFactory, member_of
from portal.models import User, UserSession
from portal.services import user_deactivate
from portal.tests.factories import PASSWORD, PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified, totp_code, totp_device_for

pytestmark = pytest.mark.django_db
Kind = UserSession.Kind
LOGIN = "/accounts/login/"


class Clock:
    """The time `django.utils.timezone.now` tells while a test runs; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(tz=timezone.get_current_timezone()).replace(microsecond=0)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock


def _signed_in(user: User, **headers: Any) -> Client:
    client = Client(headers=headers)
    sign_in_verified(client, user)
    return client


def _is_signed_in(client: Client, path: str = "/home/") -> bool:
    response = client.get(path)
    return not (response.status_code == 302 and response.url.startswith(LOGIN))


def _entries(action: str) -> list[dict[str, Any]]:
    return [entry.data for entry in AuditEntry.objects.filter(action=action).order_by("pk")]


# --- New keys --------------------------------------------------------------------------------


def test_signing_in_gives_a_new_session_key_and_the_old_one_is_gone(client: Client) -> None:
    user = UserFactory()
    before = client.session
    before["seen_the_landing_page"] = True
    before.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key
    response = client.post(LOGIN, {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    after = client.session.session_key
    assert after != before.session_key
    assert not Session.objects.filter(session_key=before.session_key).exists()
    row = UserSession.objects.get(user=user)
    assert row.session_id == after
    assert (row.kind, row.ip) == (Kind.BROWSER, "127.0.0.1")


def test_giving_the_second_factor_gives_a_new_key_and_the_row_follows_it(client: Client) -> None:
    staff = PlatformStaffFactory()
    device = totp_device_for(staff)
    client.post(LOGIN, {"username": staff.email, "password": PASSWORD})
    before = client.session.session_key
    row = UserSession.objects.get(user=staff)
    assert row.session_id == before
    response = client.post("/accounts/second-factor/", {"code": totp_code(device)})
    assert response.status_code == 302
    after = client.session.session_key
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()  # the password-only key cannot be replayed
    moved = UserSession.objects.get(user=staff)
    assert moved.session_id == after
    assert (moved.kind, moved.created) == (Kind.STRICT, row.created)
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = before
    assert not _is_signed_in(stolen)


# --- "Keep me signed in" ---------------------------------------------------------------------


def _cookie(client: Client) -> Any:
    return client.cookies[settings.SESSION_COOKIE_NAME]


def test_an_end_user_is_kept_signed_in_only_when_they_tick_it(client: Client) -> None:
    user = UserFactory()
    page = client.get(LOGIN).content.decode()
    assert re.search(r'<input type="checkbox" name="keep_signed_in" id="id_keep_signed_in" aria-describedby', page)
    assert "checked" not in re.search(r"<input type=\"checkbox\"[^>]*>", page).group(0)  # off unless ticked

    client.post(LOGIN, {"username": user.email, "password": PASSWORD})
    assert _cookie(client)["expires"] == ""  # ends when the browser closes
    assert UserSession.objects.get(user=user).kind == Kind.BROWSER

    other = Client()
    other.post(LOGIN, {"username": user.email, "password": PASSWORD, "keep_signed_in": "on"})
    assert _cookie(other)["expires"] != ""
    assert int(_cookie(other)["max-age"]) > 13 * 24 * 3600
    assert UserSession.objects.get(session_id=other.session.session_key).kind == Kind.KEPT


def test_staff_are_never_kept_signed_in(client: Client) -> None:
    staff = PlatformStaffFactory()
    client.post(LOGIN, {"username": staff.email, "password": PASSWORD, "keep_signed_in": "on"})
    assert _cookie(client)["expires"] == ""
    assert UserSession.objects.get(user=staff).kind == Kind.STRICT


# --- The limits, as time moves -----------------------------------------------------------------


def test_staff_are_signed_out_after_15_idle_minutes_and_told_why(clock: Clock) -> None:
    staff = PlatformStaffFactory()
    client, elsewhere = _signed_in(staff), _signed_in(staff)
    clock.advance(minutes=14)
    assert _is_signed_in(client, "/staff/banks/")  # activity: written down, the idle clock starts again
    clock.advance(minutes=14)
    assert _is_signed_in(client, "/staff/banks/")
    clock.advance(minutes=15)
    response = client.get("/staff/banks/", follow=True)
    assert response.redirect_chain[0][0] == f"{LOGIN}?next=/staff/banks/"
    assert "You were signed out after 15 minutes without activity" in response.content.decode()
    assert not _is_signed_in(client)
    assert _entries("auth.session_expired") == [{"reason": "idle", "kind": "strict"}]
    # Only the idle session ended: the person's other one is judged on its own (and is idle too).
    assert UserSession.objects.filter(user=staff, session_id=elsewhere.session.session_key).exists()


def test_bank_members_are_signed_out_12_hours_after_signing_in_however_active(clock: Clock) -> None:
    member = member_of(PartnerFactory())
    client = _signed_in(member)
    for _ in range(71):  # every 10 minutes for 11 h 50 min
        clock.advance(minutes=10)
        assert _is_signed_in(client), clock.now
    clock.advance(minutes=10)
    response = client.get("/home/", follow=True)
    assert "You were signed out 12 hours after signing in" in response.content.decode()
    assert _entries("auth.session_expired") == [{"reason": "total", "kind": "strict"}]


def test_an_end_user_kept_signed_in_stays_for_2_weeks_without_activity(clock: Clock) -> None:
    user = UserFactory()
    client = Client()
    client.post(LOGIN, {"username": user.email, "password": PASSWORD, "keep_signed_in": "on"})
    clock.advance(days=13)
    assert _is_signed_in(client)
    clock.advance(days=1)
    assert not _is_signed_in(client)


def test_an_end_user_not_kept_signed_in_is_signed_out_after_an_idle_hour(clock: Clock) -> None:
    user = UserFactory()
    client = _signed_in(user)
    clock.advance(minutes=59)
    assert _is_signed_in(client)
    clock.advance(minutes=59)
    assert _is_signed_in(client)
    clock.advance(minutes=60)
    assert not _is_signed_in(client)


def test_the_inbox_asking_by_itself_is_not_activity(clock: Clock) -> None:
    user = UserFactory()
    client = _signed_in(user)
    poll = "/me/inbox/new/?after=0"
    for _ in range(5):
        clock.advance(minutes=11)
        assert client.get(poll, headers={"accept": "application/json"}).status_code == 200
    clock.advance(minutes=5)  # an hour since the person last did anything
    ended = client.get(poll, headers={"accept": "application/json"})
    assert ended.status_code == 401
    assert ended.json()["error"]["code"] == "session_ended"
    assert "without activity" in client.get(LOGIN).content.decode()  # what the page shows after reloading


def test_someone_who_joins_a_bank_gets_the_strict_limits_within_a_minute(clock: Clock) -> None:
    user = UserFactory()
    client = Client()
    client.post(LOGIN, {"username": user.email, "password": PASSWORD, "keep_signed_in": "on"})
    member_of(PartnerFactory(), user=user)
    clock.advance(minutes=1)
    sign_in_verified(Client(), user)  # gives them the authenticator app a member must have
    assert _is_signed_in(client, "/accounts/second-factor/")
    assert UserSession.objects.get(session_id=client.session.session_key).kind == Kind.STRICT
    clock.advance(minutes=16)
    assert not _is_signed_in(client)


# --- Ending every session of a person --------------------------------------------------------


def test_signing_out_signs_the_person_out_everywhere() -> None:
    user = UserFactory()
    here, there, phone = _signed_in(user), _signed_in(user), _signed_in(user)
    other_person = _signed_in(UserFactory())
    assert here.post("/accounts/logout/").status_code == 302
    assert not _is_signed_in(here)
    assert not _is_signed_in(there)
    assert not _is_signed_in(phone)
    assert _is_signed_in(other_person)
    assert not UserSession.objects.filter(user=user).exists()
    assert _entries("auth.sessions_ended") == [{"reason": "signed_out", "count": 3}]


def test_changing_the_password_ends_every_other_session_and_renews_this_ones_key() -> None:
    user = UserFactory()
    here, there = _signed_in(user), _signed_in(user)
    old_key = here.session.session_key
    new_password = "another-long-passphrase-9"
    response = here.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert _is_signed_in(here)
    assert here.session.session_key != old_key
    assert not _is_signed_in(there)
    assert list(UserSession.objects.filter(user=user).values_list("session_id", flat=True)) == [
        here.session.session_key
    ]
    assert _entries("auth.sessions_ended") == [{"reason": "password_changed", "count": 1}]


def test_resetting_the_password_ends_every_session(client: Client) -> None:
    user = UserFactory()
    first, second = _signed_in(user), _signed_in(user)
    client.post("/accounts/password_reset/", {"email": user.email})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    new_password = "a-brand-new-passphrase-7"
    client.post(form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert not _is_signed_in(first)
    assert not _is_signed_in(second)
    assert not UserSession.objects.filter(user=user).exists()
    assert _entries("auth.sessions_ended") == [{"reason": "password_reset", "count": 2}]


def test_deactivating_a_person_ends_every_session_at_once() -> None:
    staff = PlatformStaffFactory()
    person = UserFactory()
    first, second = _signed_in(person), _signed_in(person)
    keys = [first.session.session_key, second.session.session_key]
    user_deactivate(user=person, actor=staff, ip="192.0.2.10")
    assert not Session.objects.filter(session_key__in=keys).exists()  # gone, not just refused
    assert not UserSession.objects.filter(user=person).exists()
    entry = AuditEntry.objects.get(action="auth.sessions_ended")
    assert (entry.data, entry.actor_id, entry.target_id) == (
        {"reason": "deactivated", "count": 2},
        str(staff.pk),
        str(person.pk),
    )
    assert not _is_signed_in(first)


def test_a_session_past_its_limits_is_not_listed_as_signed_in(clock: Clock) -> None:
    staff = PlatformStaffFactory()
    _signed_in(staff)
    clock.advance(minutes=10)
    now_here = _signed_in(staff)
    clock.advance(minutes=6)  # the first is 16 minutes idle, this one 6
    html = now_here.get("/accounts/sessions/").content.decode()
    assert html.count('class="card session') == 1
    assert "You are not signed in anywhere else." in html


def test_activity_is_written_at_most_once_a_minute_and_checking_costs_no_query(clock: Clock) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = UserFactory()
    client = _signed_in(user)
    row = UserSession.objects.get(user=user)
    clock.advance(seconds=59)
    with CaptureQueriesContext(connection) as queries:
        assert _is_signed_in(client, "/me/")
    assert not [query for query in queries if "portal_usersession" in query["sql"] or "UPDATE" in query["sql"]]
    clock.advance(seconds=1)
    assert _is_signed_in(client, "/me/")
    assert UserSession.objects.get(pk=row.pk).last_seen == clock.now


def test_the_sweep_ends_sessions_past_their_limits_that_never_came_back(clock: Clock) -> None:
    from portal.tasks import sessions_sweep

    staff, kept, browser = PlatformStaffFactory(), UserFactory(), UserFactory()
    idle_staff = _signed_in(staff)
    clock.advance(minutes=10)
    busy_staff = _signed_in(staff)
    kept_client = Client()
    kept_client.post(LOGIN, {"username": kept.email, "password": PASSWORD, "keep_signed_in": "on"})
    browser_client = _signed_in(browser)
    clock.advance(minutes=6)  # the first staff session is 16 minutes idle; the others are not over
    assert sessions_sweep() == 1
    assert not Session.objects.filter(session_key=idle_staff.session.session_key).exists()
    assert _is_signed_in(busy_staff)
    clock.advance(hours=2)  # the browser session is 2 hours idle and the staff one too; kept ones have no idle limit
    assert sessions_sweep() == 2
    assert _is_signed_in(kept_client)
    assert not _is_signed_in(browser_client)
