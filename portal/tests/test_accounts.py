"""Sign-up, sign-in, sign-out and password reset, each on the audit trail."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from compliance.models import AuditEntry
from partners.tests.factories import PartnerFactory, member_of
from portal.models import User
from portal.tests.factories import PASSWORD, ComplianceStaffFactory, PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified


def _link_in(message: Any) -> str:
    link = re.search(r"http://127\.0\.0\.1:8000(/accounts/sign-up/confirm/\S+/)", message.body)
    assert link is not None, message.body
    return link.group(1)


@pytest.fixture
def post(django_capture_on_commit_callbacks: Any) -> Any:
    """Return `post(client, path, body)`, whose emails leave as its transaction commits, as outside a test."""

    def send(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, body or {})

    return send


@pytest.mark.django_db
def test_sign_up_emails_a_link_that_opens_the_account_signs_in_and_audits(client: Client, post: Any) -> None:
    response = post(
        client,
        "/accounts/sign-up/",
        {"email": "New.Person@Example.test", "full_name": "New Person", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.url == "/accounts/sign-up/sent/"
    user = User.objects.get(email="new.person@example.test")
    assert (user.is_active, user.awaiting_confirmation) == (False, True)
    assert not client.login(username=user.email, password=PASSWORD)  # not before the link
    assert [m.subject for m in mail.outbox] == ["Finish creating your account"]
    link = _link_in(mail.outbox[0])
    assert "Confirm and sign in" in client.get(link).content.decode()
    wrong = client.post(link, {"password": "not the one chosen at sign-up"})
    assert wrong.status_code == 400
    assert "Not the password chosen at sign-up." in wrong.content.decode()
    assert client.post(link, {"password": PASSWORD}).url == "/home/"
    user.refresh_from_db()
    assert (user.is_active, user.awaiting_confirmation, user.primary_role) == (True, False, User.Role.END_USER)
    assert client.get("/home/").url == "/me/"
    assert AuditEntry.objects.filter(action="user.sign_up", target_id=str(user.pk)).exists()
    assert AuditEntry.objects.filter(action="user.sign_up_confirm", actor_id=str(user.pk)).exists()
    client.post("/accounts/logout/")
    assert "does not work any more" in client.get(link).content.decode()  # a link works once
    assert client.post(link, {"password": PASSWORD}).status_code == 200


@pytest.mark.django_db
def test_sign_up_errors_sit_beside_their_fields_and_nothing_is_saved(client: Client, post: Any) -> None:
    response = post(
        client,
        "/accounts/sign-up/",
        {"email": "someone@example.test", "password1": "12345678", "password2": "different"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert "The two passwords are different" in html
    assert not User.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_sign_up_with_a_taken_address_answers_the_same_and_emails_the_owner_instead(client: Client, post: Any) -> None:
    owner = UserFactory(email="taken@example.test")
    password_before = owner.password
    taken = post(
        client,
        "/accounts/sign-up/",
        {"email": "TAKEN@example.test", "password1": PASSWORD + "!", "password2": PASSWORD + "!"},
    )
    fresh = post(
        Client(), "/accounts/sign-up/", {"email": "free@example.test", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert (taken.status_code, taken.url) == (fresh.status_code, fresh.url) == (302, "/accounts/sign-up/sent/")
    assert User.objects.filter(email__iexact="taken@example.test").count() == 1
    owner.refresh_from_db()
    assert owner.password == password_before  # nothing about the account changed
    assert {(m.to[0], m.subject) for m in mail.outbox} == {
        ("taken@example.test", "You already have an account"),
        ("free@example.test", "Finish creating your account"),
    }
    assert AuditEntry.objects.filter(action="user.sign_up_existing", target_id=str(owner.pk)).exists()


@pytest.mark.django_db
def test_signing_up_again_before_confirming_replaces_the_first_attempt(client: Client, post: Any) -> None:
    body = {"email": "twice@example.test", "password1": PASSWORD, "password2": PASSWORD}
    post(client, "/accounts/sign-up/", body)
    first_link = _link_in(mail.outbox[0])
    post(
        client,
        "/accounts/sign-up/",
        {**body, "password1": "another-long-passphrase", "password2": "another-long-passphrase"},
    )
    assert User.objects.filter(email="twice@example.test").count() == 1
    assert "does not work any more" in client.get(first_link).content.decode()
    assert client.post(_link_in(mail.outbox[1]), {"password": "another-long-passphrase"}).url == "/home/"
    assert User.objects.get(email="twice@example.test").check_password("another-long-passphrase")


@pytest.mark.django_db
def test_sign_up_sends_a_bounded_number_of_emails_and_then_locks_out(client: Client, post: Any) -> None:
    UserFactory(email="owner@example.test")
    body = {"email": "owner@example.test", "password1": PASSWORD, "password2": PASSWORD}
    statuses = [post(client, "/accounts/sign-up/", body).status_code for _ in range(11)]
    assert statuses == [302] * 10 + [429]
    assert len(mail.outbox) == 3
    assert "Too many tries" in post(client, "/accounts/sign-up/", body).content.decode()


@pytest.mark.django_db
def test_a_deactivated_unconfirmed_sign_up_cannot_be_opened_by_its_link(client: Client, post: Any) -> None:
    from portal.services import user_deactivate

    post(client, "/accounts/sign-up/", {"email": "later@example.test", "password1": PASSWORD, "password2": PASSWORD})
    user = User.objects.get(email="later@example.test")
    user_deactivate(user=user, actor=PlatformStaffFactory())
    assert "does not work any more" in client.get(_link_in(mail.outbox[0])).content.decode()
    client.post(_link_in(mail.outbox[0]))
    user.refresh_from_db()
    assert not user.is_active


@pytest.mark.django_db
def test_password_reset_answers_the_same_for_any_address_and_sends_a_bounded_number(client: Client, post: Any) -> None:
    user = UserFactory()
    known = post(client, "/accounts/password_reset/", {"email": user.email})
    unknown = post(client, "/accounts/password_reset/", {"email": "nobody@example.test"})
    assert (
        (known.status_code, known.url) == (unknown.status_code, unknown.url) == (302, "/accounts/password_reset/done/")
    )
    for _ in range(8):
        assert post(client, "/accounts/password_reset/", {"email": user.email}).status_code == 302
    assert len(mail.outbox) == 3  # ten requests, three emails
    locked = post(client, "/accounts/password_reset/", {"email": user.email.upper()})
    assert locked.status_code == 429
    assert "Too many tries" in locked.content.decode()
    assert len(mail.outbox) == 3


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


@pytest.mark.django_db
def test_someone_who_signs_up_with_another_persons_address_cannot_have_them_open_it(client: Client, post: Any) -> None:
    """The pre-account takeover: the owner of the address follows the link, but never with the intruder's password."""
    intruder_password = "intruder-knows-this-one"
    post(
        client,
        "/accounts/sign-up/",
        {"email": "victim@example.test", "password1": intruder_password, "password2": intruder_password},
    )
    link = _link_in(mail.outbox[-1])
    victim = Client()
    refused = victim.post(link, {"password": PASSWORD})  # the owner types their own password: not this sign-up's
    assert refused.status_code == 400
    user = User.objects.get(email="victim@example.test")
    assert (user.is_active, user.awaiting_confirmation) == (False, True)
    # The owner signs up themselves: their password replaces the pending one and their link opens it.
    post(victim, "/accounts/sign-up/", {"email": "victim@example.test", "password1": PASSWORD, "password2": PASSWORD})
    assert victim.post(link, {"password": PASSWORD}).status_code == 200  # the intruder's link stopped working
    assert victim.post(_link_in(mail.outbox[-1]), {"password": PASSWORD}).url == "/home/"
    user.refresh_from_db()
    assert user.is_active
    assert not user.check_password(intruder_password)
