"""Sign-up, sign-in, sign-out and password reset, each on the audit trail."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from compliance.models import AuditEntry
from partners.tests.factories import PartnerFactory, member_of
from portal.models import User
from portal.tests.factories import PASSWORD, ComplianceStaffFactory, PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified


@pytest.mark.django_db
def test_sign_up_creates_an_end_user_signs_them_in_and_audits(client: Client) -> None:
    response = client.post(
        "/accounts/sign-up/",
        {"email": "New.Person@Example.test", "full_name": "New Person", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.test")
    assert user.primary_role == User.Role.END_USER
    assert client.get("/home/").url == "/me/"
    assert AuditEntry.objects.filter(action="user.sign_up", target_id=str(user.pk)).exists()


@pytest.mark.django_db
def test_sign_up_errors_sit_beside_their_fields_and_nothing_is_saved(client: Client) -> None:
    UserFactory(email="taken@example.test")
    response = client.post(
        "/accounts/sign-up/",
        {"email": "TAKEN@example.test", "password1": "12345678", "password2": "different"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert "The two passwords are different" in html
    response = client.post(
        "/accounts/sign-up/", {"email": "taken@example.test", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert "This email address already has an account." in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.test").count() == 1


@pytest.mark.django_db
def test_login_logout_and_failed_login_are_audited(client: Client) -> None:
    user = UserFactory()
    assert client.post("/accounts/login/", {"username": user.email, "password": "wrong"}).status_code == 200
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert failed.data == {"email": user.email}
    assert failed.ip == "127.0.0.1"

    assert client.post("/accounts/login/", {"username": user.email.upper(), "password": PASSWORD}).status_code == 302
    assert AuditEntry.objects.filter(action="auth.login", actor_id=str(user.pk)).exists()
    assert client.post("/accounts/logout/").status_code == 302
    assert AuditEntry.objects.filter(action="auth.logout", actor_id=str(user.pk)).exists()
    assert "wrong" not in "".join(AuditEntry.objects.values_list("data_json", flat=True))


@pytest.mark.django_db
def test_password_reset_sends_a_working_link(client: Client) -> None:
    user = UserFactory()
    client.post("/accounts/password_reset/", {"email": user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    new_password = "a-brand-new-passphrase-7"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    assert client.login(username=user.email, password=new_password)
    entry = AuditEntry.objects.get(action="account.password_reset")
    assert (entry.actor_id, entry.target_id) == (str(user.pk), str(user.pk))
    assert new_password not in "".join(AuditEntry.objects.values_list("data_json", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_user", "home"),
    [
        (UserFactory, "/me/"),
        (PlatformStaffFactory, "/staff/banks/"),
        (ComplianceStaffFactory, "/compliance/"),
    ],
)
def test_each_role_lands_on_its_own_home(client: Client, make_user: type[UserFactory], home: str) -> None:
    sign_in_verified(client, make_user())
    assert client.get("/home/").url == home


@pytest.mark.django_db
def test_bank_member_lands_on_their_bank(client: Client) -> None:
    bank = PartnerFactory()
    sign_in_verified(client, member_of(bank))
    response = client.get("/home/", follow=True)
    assert response.redirect_chain[-1][0] == f"/bank/{bank.slug}/"
    assert bank.legal_name in response.content.decode()


@pytest.mark.django_db
def test_navigation_shows_only_what_the_role_may_use(client: Client) -> None:
    sign_in_verified(client, UserFactory())
    html = client.get("/me/").content.decode()
    assert "My banks" in html
    assert "Audit trail" not in html
    assert "Admin" not in html
    sign_in_verified(client, ComplianceStaffFactory())
    html = client.get("/compliance/").content.decode()
    assert "Audit trail" in html
    assert "Bank reviews" not in html


@pytest.mark.django_db
def test_password_change_is_audited_without_the_password(client: Client) -> None:
    user = UserFactory()
    sign_in_verified(client, user)
    new_password = "another-long-passphrase-9"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert client.get("/me/").status_code == 200  # this session stays signed in
    entry = AuditEntry.objects.get(action="account.password_change")
    assert (entry.actor_id, entry.target_id, entry.ip) == (str(user.pk), str(user.pk), "127.0.0.1")
    trail = "".join(AuditEntry.objects.values_list("data_json", flat=True))
    assert new_password not in trail
    assert PASSWORD not in trail
    user.refresh_from_db()
    assert user.check_password(new_password)


@pytest.mark.django_db
def test_a_refused_password_change_leaves_no_entry(client: Client) -> None:
    user = UserFactory()
    sign_in_verified(client, user)
    response = client.post(
        "/accounts/password_change/", {"old_password": "wrong", "new_password1": "x-long-pass-1", "new_password2": "x"}
    )
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(action="account.password_change").exists()


@pytest.mark.django_db
def test_the_admins_password_page_is_audited_too(client: Client) -> None:
    staff = PlatformStaffFactory()
    sign_in_verified(client, staff)
    new_password = "another-long-passphrase-9"
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert response.url == "/admin/password_change/done/"
    assert AuditEntry.objects.filter(action="account.password_change", target_id=str(staff.pk)).exists()


@pytest.mark.django_db
def test_the_password_and_its_entry_commit_together(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    user = UserFactory()
    sign_in_verified(client, user)

    def trail_unavailable(**kwargs: object) -> None:
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr("portal.services.audit_append", trail_unavailable)
    new_password = "another-long-passphrase-9"
    with pytest.raises(RuntimeError):
        client.post(
            "/accounts/password_change/",
            {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
        )
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
