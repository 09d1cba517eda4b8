"""The second factor: who must have one, setting up an app, codes that work once, recovery codes, removal and resets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.models import AuditEntry
from partners.tests.factories import PartnerFactory, member_of
from portal.errors import ApplicationError, PermissionDenied
from portal.models import RecoveryCode, RecoveryCodeDevice, User
from portal.second_factor import totp
from portal.second_factor.rules import second_factor_required
from portal.second_factor.services import second_factor_enrol, second_factor_reset
from portal.second_factor.views import SETUP_KEY_SESSION_KEY
from portal.tests.factories import PASSWORD, ComplianceStaffFactory, PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified, totp_code, totp_device_for

pytestmark = pytest.mark.django_db
VERIFY, SET_UP, SECURITY = "/accounts/second-factor/", "/accounts/second-factor/set-up/", "/accounts/security/"


def _password_sign_in(client: Client, user: User) -> None:
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302


def _actions(user: User) -> list[str]:
    return list(AuditEntry.objects.filter(target_id=str(user.pk)).order_by("id").values_list("action", flat=True))


def _codes_on(response: Any) -> list[str]:
    return re.findall(r"<code>([a-z2-9-]{19})</code>", response.content.decode())


def _enrolled(user: User) -> tuple[TOTPDevice, list[str]]:
    key = totp.new_key()
    enrolment = second_factor_enrol(user=user, key=key, code=totp.current_code(key))
    return enrolment.device, enrolment.recovery_codes


def test_staff_compliance_and_every_bank_member_must_have_one_end_users_may() -> None:
    bank = PartnerFactory()
    assert second_factor_required(PlatformStaffFactory())
    assert second_factor_required(ComplianceStaffFactory())
    for role in ("manager", "developer", "compliance"):
        assert second_factor_required(member_of(bank, role))
    assert not second_factor_required(UserFactory())


def test_a_bank_member_without_an_app_sets_one_up_after_the_password(client: Client) -> None:
    member = member_of(PartnerFactory())
    _password_sign_in(client, member)
    assert client.get("/home/").url == SET_UP
    page = client.get(SET_UP)
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # the QR code, drawn on the server
    key = client.session[SETUP_KEY_SESSION_KEY]
    assert totp.key_text(key) in html  # and the key as text, for typing in

    wrong = client.post(SET_UP, {"code": "000000" if totp.current_code(key) != "000000" else "111111"})
    assert "The code does not match" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=member).exists()

    old_session = client.session.session_key
    done = client.post(SET_UP, {"code": totp.current_code(key)})
    assert done.url == "/accounts/second-factor/recovery-codes/"
    assert client.session.session_key != old_session  # cycled at verification
    codes = _codes_on(client.get(done.url))
    assert len(codes) == 10
    again = client.get(done.url).content.decode()
    assert "shown already" in again  # shown once
    assert codes[0] not in again
    assert client.get("/home/").url == "/bank/"
    assert _actions(member)[-2:] == ["otp.enrol_failed", "otp.enrolled"]


def test_recovery_codes_are_stored_only_as_digests() -> None:
    user = PlatformStaffFactory()
    _device, codes = _enrolled(user)
    stored = set(RecoveryCode.objects.filter(device__user=user).values_list("digest", flat=True))
    assert len(stored) == 10
    assert not stored & set(codes)
    assert stored == {RecoveryCodeDevice.digest_of(code) for code in codes}


def test_someone_with_an_app_gives_its_code_and_goes_where_they_were_going(client: Client) -> None:
    staff = PlatformStaffFactory()
    device = totp_device_for(staff)
    _password_sign_in(client, staff)
    assert client.get("/staff/banks/").url == f"{VERIFY}?next=%2Fstaff%2Fbanks%2F"
    old_session = client.session.session_key
    response = client.post(VERIFY, {"code": totp_code(device), "next": "/staff/banks/"})
    assert response.url == "/staff/banks/"
    assert client.session.session_key != old_session
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/staff/banks/").status_code == 200
    assert _actions(staff)[-1] == "otp.verified"


def test_a_wrong_code_is_a_form_error_and_counts_like_a_wrong_password(client: Client) -> None:
    staff = ComplianceStaffFactory()
    device = totp_device_for(staff)
    _password_sign_in(client, staff)
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
        sent.append({"sender": sender, "credentials": credentials, "has_request": request is not None})

    user_login_failed.connect(receiver)
    try:
        wrong = "123456" if totp_code(device) != "123456" else "654321"
        response = client.post(VERIFY, {"code": wrong})
    finally:
        user_login_failed.disconnect(receiver)
    assert response.status_code == 200
    assert "The code is not right" in response.content.decode()
    assert sent == [{"sender": "portal.lockout", "credentials": {"username": staff.email}, "has_request": True}]
    assert AccessAttempt.objects.get(username=staff.email).failures_since_start == 1  # the lockout counted it
    assert AuditEntry.objects.filter(action="auth.login_failed", data_json__contains=staff.email).exists()
    assert _actions(staff)[-1] == "otp.verify_failed"
    assert client.get("/compliance/").url.startswith(VERIFY)


def test_each_app_code_works_once(client: Client) -> None:
    staff = PlatformStaffFactory()
    device, _codes = _enrolled(staff)
    code = totp.current_code(device.key)
    # The code that confirmed the app was used up by the enrolment itself.
    device.refresh_from_db()
    assert not device.verify_token(code)
    device.last_t = -1  # as if the enrolment had not used it; and forget that failure's throttle
    device.throttle_reset()
    assert device.verify_token(code)
    assert not device.verify_token(code)  # replayed: django-otp keeps the last step it accepted

    _password_sign_in(client, staff)
    device.throttle_reset()
    response = client.post(VERIFY, {"code": code})
    assert "or it was used already" in response.content.decode()


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(client: Client) -> None:
    member = member_of(PartnerFactory())
    _device, codes = _enrolled(member)
    _password_sign_in(client, member)
    response = client.post(VERIFY, {"code": codes[3].upper().replace("-", " ")}, follow=True)
    assert "You used a recovery code; 9 are left" in response.content.decode()
    # Making new codes keeps that session verified, though the code it used is gone.
    assert client.post("/accounts/security/recovery-codes/").url.startswith("/accounts/second-factor/recovery-codes/")
    assert client.get("/bank/").status_code in (200, 302)
    assert not client.get("/bank/").get("Location", "").startswith(VERIFY)
    other = Client()
    _password_sign_in(other, member)
    assert "The code is not right" in other.post(VERIFY, {"code": codes[3]}).content.decode()


@pytest.mark.parametrize("factor", [30])
def test_wrong_codes_in_a_row_are_throttled_by_the_device(client: Client, settings: Any, factor: int) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = factor
    staff = PlatformStaffFactory()
    device = totp_device_for(staff)
    _password_sign_in(client, staff)
    good = totp_code(device)
    client.post(VERIFY, {"code": "000000" if good != "000000" else "111111"})
    response = client.post(VERIFY, {"code": good})
    assert "too many wrong codes" in response.content.decode()
    assert client.get("/staff/banks/").url.startswith(VERIFY)


def test_an_app_cannot_be_swapped_with_the_password_alone(client: Client) -> None:
    staff = PlatformStaffFactory()
    totp_device_for(staff)
    _password_sign_in(client, staff)
    assert client.get(SET_UP).url == f"{VERIFY}"
    assert client.post(SET_UP, {"code": "123456"}).url == VERIFY


def test_the_next_page_must_be_ours(client: Client) -> None:
    staff = PlatformStaffFactory()
    device = totp_device_for(staff)
    _password_sign_in(client, staff)
    assert client.post(VERIFY, {"code": totp_code(device), "next": "https://evil.example/"}).url == "/home/"


def test_an_end_user_turns_it_on_makes_new_codes_and_turns_it_off(client: Client) -> None:
    person = UserFactory()
    client.force_login(person)
    assert "Off." in client.get(SECURITY).content.decode()
    client.get(SET_UP)
    client.post(SET_UP, {"code": totp.current_code(client.session[SETUP_KEY_SESSION_KEY])})
    first = _codes_on(client.get("/accounts/second-factor/recovery-codes/"))
    page = client.get(SECURITY).content.decode()
    assert "On." in page
    assert "10 unused recovery codes" in page

    regenerated = client.post("/accounts/security/recovery-codes/")
    assert regenerated.url == "/accounts/second-factor/recovery-codes/?next=%2Faccounts%2Fsecurity%2F"
    second = _codes_on(client.get(regenerated.url))
    assert len(second) == 10
    assert not set(first) & set(second)
    assert not RecoveryCode.objects.filter(digest=RecoveryCodeDevice.digest_of(first[0])).exists()

    # Signing in again now asks the end user for a code too.
    other = Client()
    _password_sign_in(other, person)
    assert other.get("/me/").url.startswith(VERIFY)

    assert client.post("/accounts/security/remove/").url == SECURITY
    assert "Off." in client.get(SECURITY).content.decode()
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert not RecoveryCodeDevice.objects.filter(user=person).exists()
    assert [action for action in _actions(person) if action.startswith("otp.")] == [
        "otp.enrolled",
        "otp.recovery_codes_regenerated",
        "otp.removed",
    ]


def test_staff_and_bank_members_cannot_turn_it_off(client: Client) -> None:
    member = member_of(PartnerFactory())
    sign_in_verified(client, member)
    assert "must keep a second factor" in client.get(SECURITY).content.decode()
    response = client.post("/accounts/security/remove/")
    assert response.status_code == 403
    assert "you cannot turn it off" in response.content.decode()
    assert TOTPDevice.objects.filter(user=member).exists()


def test_platform_staff_reset_a_lost_phone_and_the_person_sets_up_a_new_app(client: Client) -> None:
    member, staff = member_of(PartnerFactory()), PlatformStaffFactory()
    sign_in_verified(client, member)
    assert client.get("/bank/").status_code in (200, 302)
    with pytest.raises(PermissionDenied):
        second_factor_reset(user=member, actor=UserFactory())
    with pytest.raises(ApplicationError, match="your own"):
        second_factor_reset(user=staff, actor=staff)
    second_factor_reset(user=member, actor=staff, ip="192.0.2.1")
    assert client.get("/bank/").url == f"{SET_UP}?next=%2Fbank%2F"  # their session is no longer verified
    entry = AuditEntry.objects.get(action="otp.reset")
    assert (entry.actor_id, entry.target_id, entry.ip) == (str(staff.pk), str(member.pk), "192.0.2.1")


def test_the_admin_action_resets_through_the_service(client: Client) -> None:
    member, staff = member_of(PartnerFactory()), PlatformStaffFactory()
    totp_device_for(member)
    sign_in_verified(client, staff)
    response = client.post(
        "/admin/portal/user/",
        {"action": "reset_second_factor", "_selected_action": [str(member.pk)]},
        follow=True,
    )
    assert "1 person(s) will set up a new authenticator app" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert AuditEntry.objects.filter(action="otp.reset", target_id=str(member.pk)).exists()
