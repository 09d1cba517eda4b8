"""The public onboarding pages: a bank applies, and an invited person accepts their invitation."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from compliance.models import AuditEntry
from partners.models import Invitation, Partner, PartnerMembership
from partners.services import invitation_create, partner_apply
from partners.tests.factories import PartnerFactory, member_of
from portal.models import User
from portal.tests.factories import PASSWORD, UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db

VALID_LEI = "5493001KJTIIGC8Y1R12"
FORM = {
    "legal_name": "Northwind Savings plc",
    "country": "GB",
    "identifier_type": "lei",
    "identifier": VALID_LEI,
    "website": "https://northwind.example",
    "security_contact": "security@northwind.example",
    "manager_email": "ana@northwind.example",
}


def field_error(response: Any, field: str) -> str:
    """Return the text of the error shown beside `field`, or "" when there is none."""
    match = re.search(rf'id="id_{field}_error">(.*?)</p>', response.content.decode(), re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


ACCEPT = "/invitations/accept/"


def invite(partner: Partner | None = None, email: str = "dev@bank.example", role: str = "developer") -> str:
    """Return the token of a fresh invitation to `partner`, sent by one of its managers."""
    partner = partner or PartnerFactory(legal_name="Contoso Bank")
    _, token = invitation_create(partner=partner, email=email, role=role, actor=member_of(partner))
    return token


def open_link(client: Client, token: str) -> Any:
    """Open the emailed link as a browser would and return the page it lands on."""
    response = client.get(f"/invitations/{token}/")
    # The token goes into the session and out of the address bar at once.
    assert response.status_code == 302
    assert response["Location"] == ACCEPT
    assert response["Referrer-Policy"] == "no-referrer"
    return client.get(ACCEPT)


def latest_invitation_id() -> str:
    return str(Invitation.objects.order_by("-pk").values_list("pk", flat=True)[0])


def account_form(**overrides: str) -> dict[str, str]:
    return {
        "invitation": latest_invitation_id(),
        "full_name": "Dee Veloper",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


# --- Applying --------------------------------------------------------------------------------------


def test_the_landing_page_links_to_the_application(client: Client) -> None:
    response = client.get("/")
    assert b'href="/partners/apply/"' in response.content


def test_a_bank_applies_and_is_told_to_check_its_email(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    page = client.get("/partners/apply/")
    assert page.status_code == 200
    assert b"Country of registration" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/partners/apply/", FORM)
    assert response.status_code == 302
    assert response["Location"] == "/partners/apply/sent/"
    partner = Partner.objects.get()
    assert (partner.legal_name, partner.status, partner.identifier) == ("Northwind Savings plc", "applied", VALID_LEI)
    assert partner.invitations.get().email == "ana@northwind.example"
    assert len(mail.outbox) == 1
    assert AuditEntry.objects.filter(action="partner.apply", ip="127.0.0.1").exists()
    sent = client.get(response["Location"])
    assert b"Check your email" in sent.content
    assert b"ana@northwind.example" in sent.content


def test_an_invalid_lei_is_shown_beside_the_field_and_nothing_is_saved(client: Client) -> None:
    response = client.post("/partners/apply/", {**FORM, "identifier": "5493001KJTIIGC8Y1R13"})
    assert response.status_code == 200
    assert "check digits do not match" in response.content.decode()  # the summary at the top
    assert field_error(response, "identifier") == "Error: This is not a valid LEI. Check each character."
    assert not Partner.objects.exists()
    assert not AuditEntry.objects.exists()
    assert mail.outbox == []


def test_a_duplicate_bank_name_is_refused(client: Client) -> None:
    partner_apply(**{**FORM, "manager_email": "first@northwind.example"})
    response = client.post("/partners/apply/", {**FORM, "legal_name": "northwind savings PLC"})
    assert "has already applied. Ask its manager to invite you instead." in response.content.decode()
    assert field_error(response, "legal_name") == "Error: This bank has already applied."
    assert Partner.objects.count() == 1


def test_missing_answers_are_each_explained(client: Client) -> None:
    response = client.post("/partners/apply/", {"website": "not a web address"})
    content = response.content.decode()
    assert "There is a problem" in content
    for message in ("Enter the bank&#x27;s legal name.", "Choose the country", "Enter a web address like"):
        assert message in content
    assert not Partner.objects.exists()


# --- Invitations: anonymous visitors ----------------------------------------------------------------


def test_the_invitation_page_shows_bank_and_role_and_keeps_the_token_out_of_sight(client: Client) -> None:
    token = invite()
    response = open_link(client, token)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Join Contoso Bank" in content
    assert "Developer" in content
    assert "Create your account" in content
    assert token not in content
    assert "no-store" in response["Cache-Control"]


def test_a_new_person_creates_their_account_and_joins(client: Client) -> None:
    open_link(client, invite())
    response = client.post(ACCEPT, account_form())
    partner = Partner.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/bank/{partner.slug}/"
    user = User.objects.get(email="dev@bank.example")
    assert user.full_name == "Dee Veloper"
    assert partner.memberships.get(user=user).role == "developer"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert {"user.sign_up", "partner.invitation_accept", "partner.member_add"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )
    assert Invitation.objects.get().accepted_by == user


def test_password_mistakes_create_nothing(client: Client) -> None:
    open_link(client, invite())
    response = client.post(ACCEPT, account_form(password2="something-else-1"))
    assert response.status_code == 200
    assert "The two passwords are different" in field_error(response, "password2")
    assert not User.objects.filter(email="dev@bank.example").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_invitation_that_expired_while_the_form_was_open_creates_no_account(client: Client) -> None:
    open_link(client, invite())
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(ACCEPT, account_form())
    assert response.status_code == 410
    assert "This invitation has expired" in response.content.decode()
    assert not User.objects.filter(email="dev@bank.example").exists()


def test_someone_with_an_account_is_sent_to_sign_in_and_back(client: Client) -> None:
    UserFactory(email="dev@bank.example")
    response = open_link(client, invite())
    assert f'href="/accounts/login/?next={ACCEPT}"' in response.content.decode()
    # Posting the account form anyway creates nothing.
    client.post(ACCEPT, account_form())
    assert User.objects.filter(email="dev@bank.example").count() == 1
    assert Invitation.objects.get().accepted_at is None


def test_the_placeholder_address_alone_is_not_an_invitation(client: Client) -> None:
    response = client.get(ACCEPT)
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()


# --- Invitations: signed-in people -------------------------------------------------------------------


def test_the_invited_person_accepts_with_one_button(client: Client) -> None:
    person = UserFactory(email="Dev@Bank.example")
    token = invite()
    sign_in_verified(client, person)
    page = open_link(client, token)
    assert b"Accept and join" in page.content
    response = client.post(ACCEPT, {"invitation": latest_invitation_id()})
    partner = Partner.objects.get()
    assert response["Location"] == f"/bank/{partner.slug}/"
    assert partner.memberships.get(user=person).role == PartnerMembership.Role.DEVELOPER
    assert AuditEntry.objects.filter(action="partner.invitation_accept", actor_id=str(person.pk)).exists()


def test_someone_else_may_look_but_not_accept(client: Client) -> None:
    token = invite()
    sign_in_verified(client, UserFactory(email="intruder@example.test"))
    page = open_link(client, token)
    assert page.status_code == 200
    content = page.content.decode()
    assert "This invitation is for dev@bank.example" in content
    assert "Accept and join" not in content
    # Signing out comes back through the link, so that the right person can sign in and accept.
    assert f'name="next" value="/invitations/{token}/"' in content
    response = client.post(ACCEPT, {"invitation": latest_invitation_id()})
    assert response.status_code == 403
    assert "Sign in with that address" in response.content.decode()
    assert Invitation.objects.get().accepted_at is None
    assert not AuditEntry.objects.filter(action="partner.invitation_accept").exists()


def test_a_page_left_open_does_not_accept_an_invitation_opened_later(client: Client) -> None:
    person = UserFactory(email="dev@bank.example")
    sign_in_verified(client, person)
    open_link(client, invite(PartnerFactory(legal_name="Contoso Bank")))
    first_id = latest_invitation_id()
    open_link(client, invite(PartnerFactory(legal_name="Fabrikam Bank"), role="compliance"))
    response = client.post(ACCEPT, {"invitation": first_id})
    assert response["Location"] == ACCEPT
    assert not PartnerMembership.objects.filter(user=person).exists()


@pytest.mark.parametrize(
    ("spoil", "status", "message"),
    [
        ("used", 410, "This invitation was already used."),
        ("expired", 410, "This invitation has expired."),
        ("revoked", 410, "This invitation was withdrawn or replaced by a newer one."),
        ("unknown", 404, "This invitation link is not valid."),
    ],
)
def test_a_spoilt_invitation_gets_a_friendly_page_and_changes_nothing(
    client: Client, spoil: str, status: int, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = invite()
    person = UserFactory(email="dev@bank.example")
    if spoil == "used":
        Invitation.objects.update(accepted_at=timezone.now())
    elif spoil == "expired":
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    elif spoil == "revoked":
        Invitation.objects.update(revoked_at=timezone.now())
    else:
        token = "no-such-token-" + token[:10]
    sign_in_verified(client, person)
    audit_before = AuditEntry.objects.count()
    with caplog.at_level(logging.DEBUG):
        for response in (open_link(client, token), client.post(ACCEPT, {"invitation": latest_invitation_id()})):
            assert response.status_code == status
            assert message in response.content.decode()
    assert token not in caplog.text  # Django logs the path of 4xx answers, which no longer holds it
    assert not PartnerMembership.objects.filter(user=person).exists()
    assert AuditEntry.objects.count() == audit_before


def test_signing_in_from_the_invitation_comes_back_to_it(client: Client) -> None:
    person = UserFactory(email="dev@bank.example")
    open_link(client, invite())
    response = client.post("/accounts/login/", {"username": person.email, "password": PASSWORD, "next": ACCEPT})
    assert response["Location"] == ACCEPT
    page = client.get(ACCEPT)
    assert b"Accept and join" in page.content
    client.post(ACCEPT, {"invitation": latest_invitation_id()})
    assert PartnerMembership.objects.filter(user=person).exists()


def test_the_wrong_person_signs_out_and_the_link_waits_for_the_right_one(client: Client) -> None:
    UserFactory(email="dev@bank.example")
    token = invite()
    sign_in_verified(client, UserFactory(email="intruder@example.test"))
    open_link(client, token)
    response = client.post("/accounts/logout/", {"next": f"/invitations/{token}/"})
    assert response["Location"] == f"/invitations/{token}/"
    page = open_link(client, token)
    assert f'href="/accounts/login/?next={ACCEPT}"' in page.content.decode()


def test_applications_from_one_address_are_limited_and_mistakes_do_not_count(client: Client, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "partner_application": "2/hour",
        },
    }

    def application(n: int) -> dict[str, str]:
        return {**FORM, "legal_name": f"Bank {n} plc", "identifier_type": "regulator", "identifier": f"REG-{n}",
                "manager_email": f"m{n}@bank{n}.example"}  # fmt: skip

    for n in range(3):  # mistakes: shown beside the field, not counted
        assert client.post("/partners/apply/", {**application(n), "manager_email": "nope"}).status_code == 200
    assert client.post("/partners/apply/", application(1)).status_code == 302
    assert client.post("/partners/apply/", application(2)).status_code == 302
    refused = client.post("/partners/apply/", application(3))
    assert refused.status_code == 429
    assert "Too many applications came from your network" in refused.content.decode()
    assert "Try again in 60 minutes" in refused.content.decode()
    assert Partner.objects.count() == 2
    other = Client(REMOTE_ADDR="192.0.2.7")  # another network is not held back
    assert other.post("/partners/apply/", application(4)).status_code == 302
