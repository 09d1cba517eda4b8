"""The lockout: 10 failures per account and per address in 30 minutes, every way in, lifted by staff on the record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from compliance.models import AuditEntry
from portal.errors import PermissionDenied
from portal.lockout import lockout_clear
from portal.tests.factories import PASSWORD, ComplianceStaffFactory, PlatformStaffFactory, UserFactory
from portal.tests.signing_in import VERIFY_PATH, sign_in_verified, totp_code, totp_device_for

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
# The admin's list of counted failures: session, person, groups, permissions, counts and the rows.
QUERIES_OF_THE_LOCKOUT_LIST = 10


def _fail(client: Client, email: str, times: int, path: str = LOGIN, **extra: Any) -> list[int]:
    return [
        client.post(path, {"username": email, "password": "not-the-password"}, **extra).status_code
        for _ in range(times)
    ]


def test_ten_wrong_passwords_lock_the_account_and_the_right_one_no_longer_signs_in(client: Client) -> None:
    user = UserFactory()
    assert _fail(client, user.email, 9) == [200] * 9
    tenth = client.post(LOGIN, {"username": user.email, "password": "not-the-password"})
    assert tenth.status_code == 429
    html = tenth.content.decode()
    assert "Too many tries" in html
    assert "Try again after that" in html
    assert 1700 <= int(tenth["Retry-After"]) <= 1800  # 30 minutes from the last failure

    right = client.post(LOGIN, {"username": user.email.upper(), "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # Refused tries while locked are not counted, so the time promised holds.
    assert AccessAttempt.objects.get(username=user.email).failures_since_start == 10
    assert AuditEntry.objects.filter(action="auth.login_failed").count() == 11


def test_the_lockout_answers_json_with_the_error_envelope_when_asked(client: Client) -> None:
    user = UserFactory()
    _fail(client, user.email, 10)
    response = client.post(LOGIN, {"username": user.email, "password": PASSWORD}, HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "locked_out"
    assert "Try again after" in error["message"]


def test_ten_failures_from_one_address_lock_that_address_for_every_account(client: Client) -> None:
    people = [UserFactory() for _ in range(11)]
    for person in people[:10]:
        _fail(client, person.email, 1)
    assert client.post(LOGIN, {"username": people[10].email, "password": PASSWORD}).status_code == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.post(LOGIN, {"username": people[10].email, "password": PASSWORD}).status_code == 302


def test_a_forged_forwarded_for_header_does_not_give_a_new_address(client: Client) -> None:
    people = [UserFactory() for _ in range(11)]
    for number, person in enumerate(people[:10]):
        _fail(client, person.email, 1, HTTP_X_FORWARDED_FOR=f"203.0.113.{number}")
    response = client.post(
        LOGIN, {"username": people[10].email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.99"
    )
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_the_admin_login_counts_towards_the_same_lockout(client: Client) -> None:
    staff = PlatformStaffFactory()
    statuses = _fail(client, staff.email, 10, path="/admin/login/")
    assert statuses == [200] * 9 + [429]
    assert client.post("/admin/login/", {"username": staff.email, "password": PASSWORD}).status_code == 429
    assert (
        Client(REMOTE_ADDR="198.51.100.8").post(LOGIN, {"username": staff.email, "password": PASSWORD}).status_code
        == 429
    )


def test_wrong_codes_lock_the_account_and_a_right_code_is_then_refused(client: Client) -> None:
    staff = ComplianceStaffFactory()
    device = totp_device_for(staff)
    assert client.post(LOGIN, {"username": staff.email, "password": PASSWORD}).status_code == 302
    assert client.get("/compliance/").url.startswith(VERIFY_PATH)
    wrong = "123456" if totp_code(device) != "123456" else "654321"
    statuses = [client.post(VERIFY_PATH, {"code": wrong}).status_code for _ in range(10)]
    assert statuses == [200] * 9 + [429]
    refused = client.post(VERIFY_PATH, {"code": totp_code(device)})
    assert refused.status_code == 429
    assert "Too many tries" in refused.content.decode()
    assert client.get("/compliance/").url.startswith(VERIFY_PATH)  # still not verified


def test_the_lockout_ends_thirty_minutes_after_the_last_failure(client: Client) -> None:
    user = UserFactory()
    _fail(client, user.email, 10)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert client.post(LOGIN, {"username": user.email, "password": PASSWORD}).status_code == 302


def test_platform_staff_lift_a_lockout_from_the_admin_and_it_is_audited(client: Client) -> None:
    user = UserFactory()
    _fail(client, user.email, 10)
    staff = PlatformStaffFactory()
    admin = sign_in_verified(Client(REMOTE_ADDR="198.51.100.9"), staff)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert user.email in listing.content.decode()
    attempt = AccessAttempt.objects.get(username=user.email)
    assert admin.get(f"/admin/axes/accessattempt/{attempt.pk}/change/").status_code == 200  # read-only page
    done = admin.post(
        "/admin/axes/accessattempt/", {"action": "lift_lockout", "_selected_action": [attempt.pk]}, follow=True
    )
    assert "lockout(s) lifted" in done.content.decode()
    assert not AccessAttempt.objects.exists()
    entry = AuditEntry.objects.get(action="auth.lockout_clear")
    assert (entry.actor_id, entry.target_id) == (str(staff.pk), str(user.pk))
    assert entry.data["email"] == user.email
    assert entry.data["failures"] == 10
    assert client.post(LOGIN, {"username": user.email, "password": PASSWORD}).status_code == 302


def test_only_platform_staff_may_lift_a_lockout(client: Client) -> None:
    user = UserFactory()
    _fail(client, user.email, 10)
    attempt = AccessAttempt.objects.get(username=user.email)
    with pytest.raises(PermissionDenied):
        lockout_clear(attempt=attempt, actor=ComplianceStaffFactory())
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert not AuditEntry.objects.filter(action="auth.lockout_clear").exists()


def _attempt(number: int) -> AccessAttempt:
    return AccessAttempt.objects.create(
        username=f"person{number}@example.test", ip_address=f"192.0.2.{number}", user_agent="test", get_data="",
        post_data="", http_accept="*/*", path_info=LOGIN, failures_since_start=10, attempt_time=timezone.now(),
    )  # fmt: skip


@pytest.mark.parametrize("rows", [2, 7])
def test_the_lockout_list_costs_the_same_queries_for_more_rows(
    client: Client, rows: int, django_assert_num_queries: Any
) -> None:
    admin = sign_in_verified(Client(REMOTE_ADDR="198.51.100.10"), PlatformStaffFactory())
    for number in range(rows):
        _attempt(number)
    with django_assert_num_queries(QUERIES_OF_THE_LOCKOUT_LIST):
        response = admin.get("/admin/axes/accessattempt/")
    assert response.status_code == 200
    assert all(f"person{number}@example.test" in response.content.decode() for number in range(rows))
