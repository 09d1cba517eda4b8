"""The session policy on its own: each kind's limits, judged at times the tests pass in, and who gets which kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partners.tests.factories import PartnerFactory, member_of
from portal.models import UserSession
from portal.sessions.devices import device_summary
from portal.sessions.policy import Ending, kind_now, session_ending, session_ends_at, session_kind, touch_due
from portal.tests.factories import ComplianceStaffFactory, PlatformStaffFactory, UserFactory

Kind = UserSession.Kind
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def _ending(kind: UserSession.Kind, *, idle: timedelta, age: timedelta) -> Ending | None:
    """Judge a session signed in `age` ago and last active `idle` ago."""
    now = START + age
    return session_ending(kind, signed_in_at=START, last_seen=now - idle, now=now)


@pytest.mark.parametrize(
    ("kind", "idle", "age", "ending"),
    [
        # Staff and bank members: 15 idle minutes, 12 hours in all, however active.
        (Kind.STRICT, 14 * MIN + timedelta(seconds=59), 14 * MIN + timedelta(seconds=59), None),
        (Kind.STRICT, 15 * MIN, 15 * MIN, Ending.IDLE),
        (Kind.STRICT, 14 * MIN, 11 * HOUR + 59 * MIN, None),
        (Kind.STRICT, 1 * MIN, 12 * HOUR, Ending.TOTAL),
        (Kind.STRICT, 0 * MIN, 13 * HOUR, Ending.TOTAL),
        # End users who ticked "Keep me signed in": no idle limit, 2 weeks in all.
        (Kind.KEPT, 13 * DAY, 13 * DAY, None),
        (Kind.KEPT, 0 * MIN, 14 * DAY - MIN, None),
        (Kind.KEPT, 0 * MIN, 14 * DAY, Ending.TOTAL),
        # End users who did not: an idle hour, 12 hours in all (and the cookie dies with the browser).
        (Kind.BROWSER, 59 * MIN, 59 * MIN, None),
        (Kind.BROWSER, 60 * MIN, 60 * MIN, Ending.IDLE),
        (Kind.BROWSER, 30 * MIN, 12 * HOUR, Ending.TOTAL),
    ],
)
def test_each_kind_ends_at_its_limits(
    kind: UserSession.Kind, idle: timedelta, age: timedelta, ending: Ending | None
) -> None:
    assert _ending(kind, idle=idle, age=age) is ending


def test_a_session_ends_at_the_earlier_of_its_limits() -> None:
    assert session_ends_at(Kind.STRICT, signed_in_at=START, last_seen=START + HOUR) == START + HOUR + 15 * MIN
    assert session_ends_at(Kind.STRICT, signed_in_at=START, last_seen=START + 11 * HOUR + 50 * MIN) == START + 12 * HOUR
    assert session_ends_at(Kind.KEPT, signed_in_at=START, last_seen=START) == START + 14 * DAY


def test_activity_is_written_at_most_once_a_minute() -> None:
    assert not touch_due(START, START + timedelta(seconds=59))
    assert touch_due(START, START + MIN)


@pytest.mark.django_db
def test_staff_and_bank_members_get_strict_sessions_whatever_they_tick() -> None:
    member = member_of(PartnerFactory())
    for person in (PlatformStaffFactory(), ComplianceStaffFactory(), member):
        assert session_kind(person, keep_signed_in=True) is Kind.STRICT
        assert session_kind(person, keep_signed_in=False) is Kind.STRICT
    person = UserFactory()
    assert session_kind(person, keep_signed_in=True) is Kind.KEPT
    assert session_kind(person) is Kind.BROWSER  # off unless ticked


@pytest.mark.django_db
def test_someone_who_joins_a_bank_gets_the_strict_limits_in_their_running_session() -> None:
    person = UserFactory()
    assert kind_now(Kind.KEPT, person) is Kind.KEPT
    member_of(PartnerFactory(), user=person)
    person.__dict__.pop("roles", None)
    assert kind_now(Kind.KEPT, person) is Kind.STRICT


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
            "Safari/537.36 Edg/126.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("curl/8.5.0", "Unknown device"),
        ("", "Unknown device"),
    ],
)
def test_devices_are_named_as_people_know_them(agent: str, summary: str) -> None:
    assert device_summary(agent) == summary
