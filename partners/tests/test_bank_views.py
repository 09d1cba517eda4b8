"""The bank's own pages, as its members use them: who may open and change what, and what they see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners.models import (
    ChatbotCapability,
    DataScope,
    DataScopeVersion,
    Invitation,
    Partner,
    PartnerApiKey,
    PartnerMembership,
    TermsAcceptance,
    WebhookEndpoint,
)
from partners.selectors import partner_api_key_for_raw
from partners.services import (
    invitation_create,
    partner_api_key_create,
    scope_create,
    terms_accept,
    terms_publish,
)
from partners.tests.factories import (
    SCOPE_CONTENT,
    PartnerFactory,
    api_key_for,
    capability_for,
    member_of,
    published_scope,
    webhook_endpoint_for,
)
from portal.models import User
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db


@dataclass
class Bank:
    """A sandbox bank with one member of each role, and a manager of another bank."""

    partner: Partner
    manager: User
    developer: User
    compliance: User
    outsider: User  # a manager of another bank

    def client(self, user: User) -> Client:
        client = Client()
        sign_in_verified(client, user)
        return client

    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(f"partners:{name}", kwargs={"slug": self.partner.slug, **kwargs})


@pytest.fixture
def bank() -> Bank:
    partner = PartnerFactory(legal_name="Northwind Savings")
    return Bank(
        partner=partner,
        manager=member_of(partner),
        developer=member_of(partner, PartnerMembership.Role.DEVELOPER),
        compliance=member_of(partner, PartnerMembership.Role.COMPLIANCE),
        outsider=member_of(PartnerFactory()),
    )


def _scope_form(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "balances.read",
        "name": "Your account balances",
        "description": "Your balance, so we can message you when it changes.",
        "category": "balances",
        "data_fields": "balance — current balance\navailable: what you can spend",
        "purposes": ["account_updates"],
        "sensitivity": "low",
        "retention_days": "30",
        "max_duration_days": "180",
    }
    data.update(changes)
    return data


def _capability_form(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "check_balance",
        "name": "Check my balance",
        "description": "Ask the bot for your balance.",
        "sample_utterances": "What's my balance?\n\nHow much money do I have?",
        "scopes": ["balances.read"],
        "message_types": ["balance_update", "chat_reply"],
        "webhook_url": "",
        "status": "published",
    }
    data.update(changes)
    return data


def _messages(response: Any) -> list[str]:
    """Return the flash messages a page shows, newest last."""
    return [str(message) for message in response.context["messages"]] if response.context else []


def _said(response: Any) -> str:
    """Return every flash message a page shows, as one text."""
    return " ".join(_messages(response))


# --- Who may open what ---------------------------------------------------------------------------------


def _catalog(bank: Bank) -> tuple[DataScope, ChatbotCapability]:
    """Return bank A's published scope and capability, made the first time."""
    scope = bank.partner.scopes.filter(code="balances.read").first() or published_scope(bank.partner)
    capability = bank.partner.capabilities.filter(code="check_balance").first() or capability_for(bank.partner)
    return scope, capability


def _read_pages(bank: Bank) -> list[str]:
    scope, capability = _catalog(bank)
    return [
        bank.url("detail"),
        bank.url("members"),
        bank.url("scopes"),
        bank.url("scope", code=scope.code),
        bank.url("capabilities"),
        bank.url("capability", code=capability.code),
        bank.url("terms"),
        bank.url("keys"),
        bank.url("webhooks"),
    ]


@pytest.mark.parametrize("role", ["manager", "developer", "compliance"])
def test_every_page_opens_for_every_member(bank: Bank, role: str) -> None:
    client = bank.client(getattr(bank, role))
    for url in _read_pages(bank):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"Northwind Savings" in response.content


def _write_requests(bank: Bank) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (method, url, data) for every change a member can ask for on bank A."""
    scope, capability = _catalog(bank)
    api_key_for(bank.partner)
    key = bank.partner.api_keys.get()
    endpoint = webhook_endpoint_for(bank.partner)
    invitation, _ = invitation_create(
        partner=bank.partner, email="new@bank.example", role="developer", actor=bank.manager
    )
    developer = bank.partner.memberships.get(user=bank.developer)
    return [
        ("post", bank.url("members"), {"email": "x@bank.example", "role": "developer"}),
        ("post", bank.url("member-remove", pk=developer.pk), {}),
        ("post", bank.url("invitation-revoke", pk=invitation.pk), {}),
        ("get", bank.url("scope-new"), {}),
        ("post", bank.url("scope-new"), _scope_form(code="cards.read")),
        ("post", bank.url("scope", code=scope.code), _scope_form()),
        ("post", bank.url("scope-publish", code=scope.code), {}),
        ("post", bank.url("scope-retire", code=scope.code), {}),
        ("get", bank.url("capability-new"), {}),
        ("post", bank.url("capability-new"), _capability_form(code="other")),
        ("post", bank.url("capability", code=capability.code), _capability_form()),
        ("post", bank.url("terms"), {"version": "1", "confirm": "on"}),
        ("post", bank.url("keys"), {"name": "Server", "environment": "sandbox"}),
        ("post", bank.url("key-revoke", pk=key.pk), {}),
        ("post", bank.url("key-rotate", pk=key.pk), {}),
        ("post", bank.url("webhooks"), {"url": "https://bank.example/h", "event_types": ["consent.granted"]}),
        ("post", bank.url("webhook-switch", pk=endpoint.pk), {"is_active": "off"}),
        ("post", bank.url("webhook-rotate-secret", pk=endpoint.pk), {}),
        ("post", bank.url("webhook-delete", pk=endpoint.pk), {}),
    ]


def test_a_member_of_another_bank_gets_404_everywhere(bank: Bank) -> None:
    client = bank.client(bank.outsider)
    for url in _read_pages(bank):
        assert client.get(url).status_code == 404, url
    for method, url, data in _write_requests(bank):
        assert getattr(client, method)(url, data).status_code == 404, url


def test_a_compliance_contact_reads_but_cannot_change_anything(bank: Bank) -> None:
    client = bank.client(bank.compliance)
    requests = _write_requests(bank)
    counts_before = DataScope.objects.count(), PartnerApiKey.objects.count(), WebhookEndpoint.objects.count()
    for method, url, data in requests:
        assert getattr(client, method)(url, data).status_code == 403, url
    assert (DataScope.objects.count(), PartnerApiKey.objects.count(), WebhookEndpoint.objects.count()) == counts_before
    assert bank.partner.memberships.count() == 3
    page = client.get(bank.url("keys")).content.decode()
    assert "You can read this page" in page
    assert "Create an API key" not in page


def test_a_developer_manages_the_catalog_but_not_people_or_terms(bank: Bank) -> None:
    client = bank.client(bank.developer)
    assert client.get(bank.url("scope-new")).status_code == 200
    assert client.post(bank.url("members"), {"email": "x@bank.example", "role": "manager"}).status_code == 403
    terms_publish(title="Terms", body="Be good.", actor=None)
    assert client.post(bank.url("terms"), {"version": "1", "confirm": "on"}).status_code == 403
    assert not Invitation.objects.filter(email="x@bank.example").exists()
    assert not TermsAcceptance.objects.exists()


def test_post_only_actions_refuse_get(bank: Bank) -> None:
    scope = published_scope(bank.partner)
    response = bank.client(bank.manager).get(bank.url("scope-publish", code=scope.code))
    assert response.status_code == 405


# --- Home ------------------------------------------------------------------------------------------------


def test_home_puts_status_and_the_next_step_first(bank: Bank) -> None:
    page = bank.client(bank.manager).get(bank.url("detail")).content.decode()
    order = ["next-title", "terms-title", "scopes-title", "capabilities-title", "keys-title", "webhooks-title"]
    positions = [page.index(f'id="{section}"') for section in [*order, "members-title"]]
    assert positions == sorted(positions)
    assert "Your bank is in the sandbox" in page
    assert "Done" in page  # the application was approved
    assert "Not done yet" in page
    assert reverse("partners:scopes", kwargs={"slug": bank.partner.slug}) in page


def test_home_shows_the_first_unfinished_step_as_the_next_step(bank: Bank) -> None:
    terms = terms_publish(title="Terms", body="Be good.", actor=None)
    terms_accept(partner=bank.partner, terms=terms, user=bank.manager)
    response = bank.client(bank.manager).get(bank.url("detail"))
    assert response.context["next_item"].label == "A published scope"
    assert response.context["next_url"] == bank.url("scopes")


# --- Members and invitations ------------------------------------------------------------------------------


def test_a_manager_invites_someone(bank: Bank, django_capture_on_commit_callbacks: Any) -> None:
    client = bank.client(bank.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(bank.url("members"), {"email": "New.Person@Bank.example", "role": "developer"})
    assert response.status_code == 302
    invitation = Invitation.objects.pending().get(partner=bank.partner)
    assert (invitation.email, invitation.role) == ("new.person@bank.example", "developer")
    assert len(mail.outbox) == 1
    page = client.get(bank.url("members")).content.decode()
    assert "We emailed an invitation to new.person@bank.example" in page
    assert "new.person@bank.example" in page


def test_inviting_an_existing_member_says_so_beside_the_email(bank: Bank) -> None:
    response = bank.client(bank.manager).post(bank.url("members"), {"email": bank.developer.email, "role": "manager"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["email"] == ["Already a member."]
    assert f"{bank.developer.email} is already a member" in form.non_field_errors()[0]
    assert not Invitation.objects.exists()


def test_inviting_needs_an_email_and_a_role(bank: Bank) -> None:
    response = bank.client(bank.manager).post(bank.url("members"), {"email": "nope"})
    page = response.content.decode()
    assert "There is a problem" in page
    assert "Enter an email address in the right format" in page
    assert "Choose a role." in page
    assert not Invitation.objects.exists()


def test_a_manager_withdraws_an_invitation(bank: Bank) -> None:
    invitation, _ = invitation_create(
        partner=bank.partner, email="new@bank.example", role="developer", actor=bank.manager
    )
    response = bank.client(bank.manager).post(bank.url("invitation-revoke", pk=invitation.pk), follow=True)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "The invitation to new@bank.example is withdrawn" in _said(response)


def test_a_manager_removes_a_member_but_never_the_last_manager(bank: Bank) -> None:
    client = bank.client(bank.manager)
    developer = bank.partner.memberships.get(user=bank.developer)
    response = client.post(bank.url("member-remove", pk=developer.pk), follow=True)
    assert not PartnerMembership.objects.filter(pk=developer.pk).exists()
    assert f"{bank.developer.email} is no longer a member" in _said(response)
    assert not bank.developer.has_perm("partners.manage_partner", bank.partner)

    myself = bank.partner.memberships.get(user=bank.manager)
    response = client.post(bank.url("member-remove", pk=myself.pk), follow=True)
    assert PartnerMembership.objects.filter(pk=myself.pk).exists()
    assert "A bank needs at least one manager" in _said(response)


# --- Scopes -----------------------------------------------------------------------------------------------


def test_a_developer_declares_a_scope_as_a_draft(bank: Bank) -> None:
    client = bank.client(bank.developer)
    form_page = client.get(bank.url("scope-new")).content.decode()
    assert 'type="checkbox" name="purposes"' in form_page
    assert "checked" not in form_page  # nothing is pre-ticked
    response = client.post(bank.url("scope-new"), _scope_form())
    assert response.status_code == 302
    assert response["Location"] == bank.url("scope", code="balances.read")
    version = DataScopeVersion.objects.get(scope__partner=bank.partner, scope__code="balances.read")
    assert (version.number, version.status) == (1, "draft")
    assert version.fields == [
        {"name": "balance", "description": "current balance"},
        {"name": "available", "description": "what you can spend"},
    ]
    assert version.purposes == ["account_updates"]
    page = client.get(response["Location"]).content.decode()
    assert "saved as a draft" in page
    assert "Publish version 1" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"purposes": ["advertising"]},
            "purposes",
            "'advertising' is not a permitted purpose. Bank data is never used for advertising on this platform.",
        ),
        ({"max_duration_days": "400"}, "max_duration_days", "Enter a whole number of days from 1 to 365."),
        ({"purposes": []}, "purposes", "Choose at least one purpose from the list."),
        ({"code": "Balances"}, "code", "Use a code like 'balances.read'"),
        ({"data_fields": "balance current"}, "data_fields", "Line 1 needs a name, a dash, then what it means"),
        ({"data_fields": "balance — a\nbalance — b"}, "data_fields", "'balance' is listed twice."),
    ],
)
def test_a_bad_scope_is_explained_beside_its_field_and_nothing_is_saved(
    bank: Bank, changes: dict[str, Any], field: str, message: str
) -> None:
    response = bank.client(bank.manager).post(bank.url("scope-new"), _scope_form(**changes))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    assert any(message in error for errors in form.errors.values() for error in errors), form.errors
    page = response.content.decode()
    assert "There is a problem" in page
    assert f'id="id_{field}_error"' in page  # beside the field, too
    assert not DataScope.objects.exists()
    assert not DataScopeVersion.objects.exists()


def test_a_duplicate_scope_code_is_refused(bank: Bank) -> None:
    published_scope(bank.partner)
    response = bank.client(bank.manager).post(bank.url("scope-new"), _scope_form())
    form = response.context["form"]
    assert form.errors["code"] == ["This code is taken."]
    assert "Your bank already has a scope 'balances.read'" in form.non_field_errors()[0]
    assert DataScope.objects.count() == 1
    assert DataScopeVersion.objects.count() == 1


def test_the_same_code_at_another_bank_is_fine(bank: Bank) -> None:
    other = PartnerFactory()
    published_scope(other)
    assert bank.client(bank.manager).post(bank.url("scope-new"), _scope_form()).status_code == 302


def test_publishing_editing_and_publishing_again_records_what_narrowed(bank: Bank) -> None:
    client = bank.client(bank.manager)
    client.post(bank.url("scope-new"), _scope_form())
    response = client.post(bank.url("scope-publish", code="balances.read"), follow=True)
    assert "Version 1 of balances.read is published" in _said(response)

    page = client.get(bank.url("scope", code="balances.read")).content.decode()
    assert "balance — current balance" in page  # the edit form starts from the published wording
    response = client.post(
        bank.url("scope", code="balances.read"),
        _scope_form(data_fields="balance — current balance", max_duration_days="90"),
        follow=True,
    )
    assert "Draft version 2 of balances.read is saved" in _said(response)
    scope = DataScope.objects.get(code="balances.read")
    assert scope.published_version is not None
    assert scope.published_version.number == 1

    response = client.post(bank.url("scope-publish", code="balances.read"), follow=True)
    scope.refresh_from_db()
    assert scope.published_version is not None
    assert scope.published_version.number == 2
    assert scope.published_version.narrowed == {"fields_removed": ["available"], "max_duration_days": [180, 90]}
    page = response.content.decode()
    assert "Fields removed: available" in page
    assert "Longest grant shortened from 180 to 90 days" in page
    assert "Replaced by a newer version" in page


def test_a_high_sensitivity_scope_waits_for_compliance(bank: Bank) -> None:
    client = bank.client(bank.manager)
    client.post(bank.url("scope-new"), _scope_form(sensitivity="high"))
    page = client.get(bank.url("scope", code="balances.read")).content.decode()
    assert "Publishing sends it to compliance staff for approval first" in page
    response = client.post(bank.url("scope-publish", code="balances.read"), follow=True)
    assert "waiting for compliance approval" in _said(response)
    assert "Waiting for compliance approval" in response.content.decode()
    scope = DataScope.objects.get(code="balances.read")
    assert scope.published_version is None
    assert scope.versions.get().status == "pending_review"


def test_publishing_with_nothing_to_publish_says_why(bank: Bank) -> None:
    scope = published_scope(bank.partner)
    response = bank.client(bank.manager).post(bank.url("scope-publish", code=scope.code), follow=True)
    assert _messages(response) == ["There is no draft to publish: edit the scope first."]


def test_retiring_a_scope_stops_its_editing(bank: Bank) -> None:
    scope = published_scope(bank.partner)
    client = bank.client(bank.manager)
    response = client.post(bank.url("scope-retire", code=scope.code), follow=True)
    assert "balances.read is retired" in _said(response)
    scope.refresh_from_db()
    assert scope.retired_at is not None
    assert "Save the draft" not in response.content.decode()
    response = client.post(bank.url("scope", code=scope.code), _scope_form())
    assert response.context["form"].non_field_errors() == ["This scope is retired; declare a new one instead."]


def test_an_unknown_scope_is_404(bank: Bank) -> None:
    assert bank.client(bank.manager).get(bank.url("scope", code="nothing.read")).status_code == 404


# --- Capabilities -----------------------------------------------------------------------------------------


def test_a_capability_uses_only_published_scopes_offered_as_checkboxes(bank: Bank) -> None:
    published_scope(bank.partner)
    scope_create(partner=bank.partner, code="cards.read", actor=None, **SCOPE_CONTENT)  # a draft only
    client = bank.client(bank.developer)
    page = client.get(bank.url("capability-new")).content.decode()
    assert 'value="balances.read"' in page
    assert 'value="cards.read"' not in page
    response = client.post(bank.url("capability-new"), _capability_form())
    assert response.status_code == 302
    capability = ChatbotCapability.objects.get(partner=bank.partner)
    assert [scope.code for scope in capability.scopes.all()] == ["balances.read"]
    assert capability.sample_utterances == ["What's my balance?", "How much money do I have?"]
    assert capability.message_types == ["balance_update", "chat_reply"]


def test_a_capability_using_another_banks_scope_is_refused(bank: Bank) -> None:
    other = PartnerFactory()
    published_scope(other, code="cards.read")
    response = bank.client(bank.manager).post(bank.url("capability-new"), _capability_form(scopes=["cards.read"]))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["scopes"] == ["'cards.read' is not one of your published scopes."]
    assert "A capability can use only your own published scopes." in form.non_field_errors()[0]
    assert not ChatbotCapability.objects.filter(partner=bank.partner).exists()


def test_a_capability_needs_message_types(bank: Bank) -> None:
    published_scope(bank.partner)
    response = bank.client(bank.manager).post(bank.url("capability-new"), _capability_form(message_types=[]))
    assert response.context["form"].errors["message_types"] == ["Choose at least one."]
    assert not ChatbotCapability.objects.exists()


def test_a_capability_is_changed_on_its_page(bank: Bank) -> None:
    capability = capability_for(bank.partner)
    client = bank.client(bank.manager)
    page = client.get(bank.url("capability", code=capability.code)).content.decode()
    assert "What&#x27;s my balance?" in page
    assert capability.signing_secret.startswith("whsec_")
    assert capability.signing_secret in page  # managers and developers see what signs their bot's messages
    reader = bank.client(bank.compliance).get(bank.url("capability", code=capability.code)).content.decode()
    assert capability.signing_secret not in reader
    response = client.post(
        bank.url("capability", code=capability.code),
        _capability_form(name="Balance, please", message_types=["chat_reply"], status="retired"),
    )
    assert response.status_code == 302
    capability.refresh_from_db()
    assert (capability.name, capability.message_types, capability.status) == (
        "Balance, please",
        ["chat_reply"],
        "retired",
    )


# --- Usage terms ------------------------------------------------------------------------------------------


def test_a_manager_reads_and_accepts_the_terms(bank: Bank) -> None:
    terms = terms_publish(
        title="Usage terms", body="# Terms\n\nNever **advertise**.\n\n<script>alert(1)</script>", actor=None
    )
    client = bank.client(bank.manager)
    page = client.get(bank.url("terms")).content.decode()
    assert "<h2>Terms</h2>" in page
    assert "<strong>advertise</strong>" in page
    assert "<script>alert(1)" not in page
    assert terms.body_sha256 in page
    assert "I accept these terms for Northwind Savings" in page
    response = client.post(
        bank.url("terms"),
        {"version": str(terms.version), "confirm": "on"},
        headers={"user-agent": "Test browser"},
        REMOTE_ADDR="203.0.113.9",
        follow=True,
    )
    assert "You accepted version 1 of the usage terms for Northwind Savings." in _messages(response)
    acceptance = TermsAcceptance.objects.get(partner=bank.partner)
    assert (acceptance.accepted_by, acceptance.ip, acceptance.user_agent) == (
        bank.manager,
        "203.0.113.9",
        "Test browser",
    )
    assert acceptance.text_sha256 == terms.body_sha256


def test_accepting_needs_the_box_ticked(bank: Bank) -> None:
    terms_publish(title="Usage terms", body="Be good.", actor=None)
    response = bank.client(bank.manager).post(bank.url("terms"), {"version": "1"})
    assert response.context["form"].errors["confirm"] == [
        "Tick the box to confirm that you accept these terms for your bank."
    ]
    assert not TermsAcceptance.objects.exists()


def test_accepting_outdated_terms_is_refused(bank: Bank) -> None:
    terms_publish(title="Usage terms", body="Be good.", actor=None)
    terms_publish(title="Usage terms", body="Be better.", actor=None)
    response = bank.client(bank.manager).post(bank.url("terms"), {"version": "1", "confirm": "on"})
    assert "These are not the current terms any more" in response.context["form"].non_field_errors()[0]
    assert not TermsAcceptance.objects.exists()


def test_members_see_who_must_accept_and_what_changed(bank: Bank) -> None:
    old = terms_publish(title="Usage terms", body="Line one.\nKeep data 30 days.\nLine three.", actor=None)
    terms_accept(partner=bank.partner, terms=old, user=bank.manager)
    terms_publish(title="Usage terms", body="Line one.\nKeep data 14 days.\nLine three.\nNew line.", actor=None)
    page = bank.client(bank.developer).get(bank.url("terms")).content.decode()
    assert "What changed since version 1, which your bank accepted" in page
    removed = page[page.index('class="diff-removed"') :]
    assert "Keep data 30 days." in removed
    added = page[page.index('class="diff-added"') :]
    assert "Keep data 14 days." in added
    assert "New line." in added
    assert "Who must accept" in page
    assert bank.manager.email in page
    assert "I accept these terms" not in page


# --- API keys -------------------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_works(bank: Bank) -> None:
    client = bank.client(bank.developer)
    response = client.post(bank.url("keys"), {"name": "Payments server", "environment": "sandbox"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw_key = response.context["secret"]
    assert raw_key.startswith("pbk_sandbox_")
    page = response.content.decode()
    assert raw_key in page
    assert "We show it only this once" in page
    key = partner_api_key_for_raw(raw_key=raw_key)
    assert key is not None
    assert (key.partner, key.created_by) == (bank.partner, bank.developer)
    later = client.get(bank.url("keys")).content.decode()
    assert raw_key not in later
    assert key.masked in later
    assert raw_key not in str(dict(client.session))


def test_a_form_sent_again_makes_no_second_secret_and_says_why(bank: Bank) -> None:
    client = bank.client(bank.manager)
    page = client.get(bank.url("keys")).content.decode()
    assert 'name="once"' in page  # the browser's form carries its token
    key_form = {"name": "Server", "environment": "sandbox", "once": "k1"}
    assert client.post(bank.url("keys"), key_form).status_code == 200
    again = client.post(bank.url("keys"), key_form, follow=True)  # a reload of the page with the secret
    assert again.redirect_chain[-1][0] == bank.url("keys")
    assert "nothing new was made" in _said(again)
    assert PartnerApiKey.objects.count() == 1
    key = PartnerApiKey.objects.get()
    client.post(bank.url("key-rotate", pk=key.pk), {"once": "r1"})
    assert "nothing new was made" in _said(client.post(bank.url("key-rotate", pk=key.pk), {"once": "r1"}, follow=True))
    assert PartnerApiKey.objects.count() == 2

    endpoint_form = {"url": "https://bank.example/h", "event_types": ["consent.granted"], "once": "w1"}
    client.post(bank.url("webhooks"), endpoint_form)
    assert "nothing new was made" in _said(client.post(bank.url("webhooks"), endpoint_form, follow=True))
    endpoint = WebhookEndpoint.objects.get()
    client.post(bank.url("webhook-rotate-secret", pk=endpoint.pk), {"once": "s1"})
    secret = WebhookEndpoint.objects.get().secret
    client.post(bank.url("webhook-rotate-secret", pk=endpoint.pk), {"once": "s1"})
    assert WebhookEndpoint.objects.get().secret == secret
    # Another person's token is theirs: the same value from someone else is a first sending.
    assert bank.client(bank.developer).post(bank.url("keys"), key_form).status_code == 200
    assert PartnerApiKey.objects.count() == 3


def test_a_suspended_bank_gets_no_key(bank: Bank) -> None:
    Partner.objects.filter(pk=bank.partner.pk).update(status=Partner.Status.SUSPENDED)
    response = bank.client(bank.manager).post(bank.url("keys"), {"name": "Server", "environment": "sandbox"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["A bank that is suspended cannot have API keys."]
    assert not PartnerApiKey.objects.exists()


def test_a_live_key_needs_a_live_bank(bank: Bank) -> None:
    response = bank.client(bank.manager).post(bank.url("keys"), {"name": "Server", "environment": "live"})
    assert response.context["form"].errors["environment"] == ["Your bank is not live yet."]
    assert not PartnerApiKey.objects.exists()


def test_rotating_a_key_shows_the_new_one_once_and_keeps_the_old_one_a_day(bank: Bank) -> None:
    key, _ = partner_api_key_create(partner=bank.partner, name="Server", environment="sandbox")
    response = bank.client(bank.manager).post(bank.url("key-rotate", pk=key.pk))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert response.context["secret"] in page
    assert "keeps working for 24 more hours" in page
    key.refresh_from_db()
    assert key.expires_at is not None
    assert key.is_active
    assert bank.partner.api_keys.count() == 2


def test_revoking_a_key_stops_it(bank: Bank) -> None:
    raw = api_key_for(bank.partner)
    key = bank.partner.api_keys.get()
    response = bank.client(bank.manager).post(bank.url("key-revoke", pk=key.pk), follow=True)
    assert "is revoked" in _said(response)
    assert partner_api_key_for_raw(raw_key=raw) is None


# --- Webhook endpoints -----------------------------------------------------------------------------------


def test_a_new_endpoint_shows_its_secret_once(bank: Bank) -> None:
    client = bank.client(bank.developer)
    response = client.post(
        bank.url("webhooks"),
        {"url": "https://api.bank.example/hooks", "description": "Main", "event_types": ["consent.revoked"]},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get(partner=bank.partner)
    assert response.context["secret"] == endpoint.secret
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in client.get(bank.url("webhooks")).content.decode()
    assert endpoint.event_types == ["consent.revoked"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a web address", "Enter a full web address starting with https://."),
        ("ftp://bank.example/hooks", "Enter a full web address starting with https://."),
        ("https://user:secret@bank.example/hooks", "Do not put a user name or password in the address."),
    ],
)
def test_a_malformed_endpoint_address_is_refused(bank: Bank, url: str, message: str) -> None:
    response = bank.client(bank.manager).post(bank.url("webhooks"), {"url": url, "event_types": ["consent.granted"]})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.non_field_errors() == [message]
    assert "url" in form.errors
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_needs_events(bank: Bank) -> None:
    response = bank.client(bank.manager).post(bank.url("webhooks"), {"url": "https://bank.example/h"})
    assert response.context["form"].errors["event_types"] == ["Choose at least one event."]
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_is_switched_off_and_on_rotated_and_deleted(bank: Bank) -> None:
    endpoint = webhook_endpoint_for(bank.partner)
    old_secret = endpoint.secret
    client = bank.client(bank.manager)

    response = client.post(bank.url("webhook-switch", pk=endpoint.pk), {"is_active": "off"}, follow=True)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "switched off" in _said(response)
    client.post(bank.url("webhook-switch", pk=endpoint.pk), {"is_active": "on"})
    endpoint.refresh_from_db()
    assert endpoint.is_active

    response = client.post(bank.url("webhook-rotate-secret", pk=endpoint.pk))
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret
    assert endpoint.previous_secret == old_secret
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]

    response = client.post(bank.url("webhook-delete", pk=endpoint.pk), follow=True)
    assert not WebhookEndpoint.objects.exists()
    assert "is deleted" in _said(response)


# --- Query counts stay flat as lists grow ---------------------------------------------------------------


def _add_members(bank: Bank, n: int) -> None:
    start = Invitation.objects.count()
    for i in range(start, start + n):
        member_of(bank.partner, PartnerMembership.Role.DEVELOPER)
        invitation_create(partner=bank.partner, email=f"invitee{i}@bank.example", role="developer", actor=bank.manager)


def _add_scopes(bank: Bank, n: int) -> None:
    start = DataScope.objects.count()
    for i in range(start, start + n):
        published_scope(bank.partner, code=f"scope_{i}.read")


def _add_capabilities(bank: Bank, n: int) -> None:
    start = ChatbotCapability.objects.count()
    for i in range(start, start + n):
        capability_for(bank.partner, code=f"capability_{i}")  # publishes balances.read the first time


def _add_keys(bank: Bank, n: int) -> None:
    for _ in range(n):
        api_key_for(bank.partner)


def _add_endpoints(bank: Bank, n: int) -> None:
    start = WebhookEndpoint.objects.count()
    for i in range(start, start + n):
        webhook_endpoint_for(bank.partner, url=f"https://bank.example/hooks/{i}")


def _add_everything(bank: Bank, n: int) -> None:
    _add_scopes(bank, n)
    _add_capabilities(bank, n)
    _add_keys(bank, n)
    _add_endpoints(bank, n)
    _add_members(bank, n)


# Session, user and roles (4), the bank among the member's (1), two permission checks (4), then the
# list itself: one query, or two with what it prefetches. The home page reads every section.
LIST_PAGES: list[tuple[str, Callable[[Bank, int], None], int]] = [
    ("members", _add_members, 11),
    ("scopes", _add_scopes, 11),
    ("capabilities", _add_capabilities, 11),
    ("keys", _add_keys, 10),
    ("webhooks", _add_endpoints, 10),
    ("detail", _add_everything, 23),
]


@pytest.mark.parametrize(("name", "add_rows", "pinned"), LIST_PAGES, ids=[name for name, _, _ in LIST_PAGES])
def test_list_pages_use_the_same_queries_for_2_and_20_rows(
    bank: Bank, django_assert_max_num_queries: Any, name: str, add_rows: Callable[[Bank, int], None], pinned: int
) -> None:
    client = bank.client(bank.manager)
    client.get(bank.url(name))  # warms per-process caches (content types), as any earlier request would
    counts = []
    for total in (2, 20):
        add_rows(bank, 2 if total == 2 else 18)
        with django_assert_max_num_queries(pinned), CaptureQueriesContext(connection) as queries:
            response = client.get(bank.url(name))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
