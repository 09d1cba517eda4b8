"""Linking through the bank simulator: state and PKCE checked, codes single use, failures refused and audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEntry
from consent.connectors import CLIENT_ID, callback_path
from consent.models import AccountLink, LinkAuthorisation, SimulatedAuthorisationCode
from consent.pkce import new_code_verifier, s256_challenge, verifier_matches
from consent.simulator import simulated_accounts
from consent.tests.factories import live_bank
from partners.models import Partner
from portal.models import User
from portal.tests.factories import UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank() -> Partner:
    return live_bank(legal_name="Northwind Savings")


@pytest.fixture
def person() -> User:
    return UserFactory()


@pytest.fixture
def browser(person: User) -> Client:
    client = Client()
    sign_in_verified(client, person)
    return client


def _start(browser: Client, bank: Partner) -> dict[str, str]:
    """Start linking and return the query the portal sent the bank."""
    response = browser.post(reverse("consent:link-start", kwargs={"slug": bank.slug}))
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert url.path == reverse("consent:simulator-authorize", kwargs={"slug": bank.slug})
    return {key: values[0] for key, values in parse_qs(url.query).items()}


def _allow(browser: Client, bank: Partner, query: dict[str, str], account: int = 0) -> dict[str, str]:
    """Allow at the simulated bank and return the query it sends back to the portal."""
    authorize = reverse("consent:simulator-authorize", kwargs={"slug": bank.slug})
    page = browser.get(authorize, query)
    assert page.status_code == 200
    assert b"Which account should the portal connect to?" in page.content
    response = browser.post(authorize, {**query, "account": str(account), "decision": "allow"})
    assert response.status_code == 302
    back = urlsplit(response["Location"])
    assert back.path == callback_path()
    return {key: values[0] for key, values in parse_qs(back.query).items()}


def _last_refusal() -> dict[str, Any]:
    entry = AuditEntry.objects.filter(action="consent.refused").order_by("-id").first()
    assert entry is not None
    return json.loads(entry.data_json)


def test_pkce_s256_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert verifier_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not verifier_matches("short", s256_challenge("short"))
    assert 43 <= len(new_code_verifier()) <= 128


def test_a_person_links_an_account_and_lands_on_the_consent_screen(
    browser: Client, bank: Partner, person: User
) -> None:
    query = _start(browser, bank)
    assert query["code_challenge_method"] == "S256"
    assert query["client_id"] == CLIENT_ID
    assert len(query["state"]) >= 32
    back = _allow(browser, bank, query, account=1)
    assert back["state"] == query["state"]
    response = browser.get(callback_path(), back)
    link = AccountLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("consent:consent-screen", kwargs={"link_id": link.pk})
    expected = simulated_accounts(user=person, partner=bank)[1]
    assert (link.user, link.partner, link.account_ref, link.account_mask) == (
        person,
        bank,
        expected.account_ref,
        expected.account_mask,
    )
    assert "consent.link" in AuditEntry.objects.values_list("action", flat=True)
    # Linking the same account again finds the same link rather than a second one.
    browser.get(callback_path(), _allow(browser, bank, _start(browser, bank), account=1))
    assert AccountLink.objects.count() == 1


def test_the_person_may_deny_and_nothing_is_linked(browser: Client, bank: Partner) -> None:
    query = _start(browser, bank)
    authorize = reverse("consent:simulator-authorize", kwargs={"slug": bank.slug})
    response = browser.post(authorize, {**query, "decision": "deny"})
    back = {key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()}
    assert back["error"] == "access_denied"
    page = browser.get(callback_path(), back)
    assert page.status_code == 400
    assert b"You did not allow Northwind Savings" in page.content
    assert not AccountLink.objects.exists()


def test_a_forged_state_is_refused_and_audited(browser: Client, bank: Partner) -> None:
    back = _allow(browser, bank, _start(browser, bank))
    page = browser.get(callback_path(), {**back, "state": "forged-state-value-that-we-never-issued-000"})
    assert page.status_code == 400
    assert b"not one we started" in page.content
    assert not AccountLink.objects.exists()
    assert _last_refusal()["code"] == "state_invalid"


def test_a_replayed_callback_is_refused_and_audited(browser: Client, bank: Partner) -> None:
    back = _allow(browser, bank, _start(browser, bank))
    assert browser.get(callback_path(), back).status_code == 302
    again = browser.get(callback_path(), back)
    assert again.status_code == 400
    assert b"already used" in again.content
    assert AccountLink.objects.count() == 1
    assert _last_refusal()["code"] == "state_used"


def test_a_state_from_another_session_is_refused(browser: Client, bank: Partner, person: User) -> None:
    back = _allow(browser, bank, _start(browser, bank))
    other_session = Client()
    sign_in_verified(other_session, person)  # same person, another browser: no session binding
    page = other_session.get(callback_path(), back)
    assert page.status_code == 400
    assert _last_refusal()["code"] == "state_not_yours"
    assert not AccountLink.objects.exists()


def test_someone_elses_state_is_refused(browser: Client, bank: Partner) -> None:
    back = _allow(browser, bank, _start(browser, bank))
    attacker = Client()
    sign_in_verified(attacker, UserFactory())
    assert attacker.get(callback_path(), back).status_code == 400
    assert _last_refusal()["code"] == "state_not_yours"
    assert not AccountLink.objects.exists()


def test_an_expired_state_is_refused(browser: Client, bank: Partner) -> None:
    back = _allow(browser, bank, _start(browser, bank))
    LinkAuthorisation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert browser.get(callback_path(), back).status_code == 400
    assert _last_refusal()["code"] == "state_expired"


def test_a_replayed_code_is_refused_by_the_bank_and_audited(browser: Client, bank: Partner) -> None:
    first = _allow(browser, bank, _start(browser, bank))
    assert browser.get(callback_path(), first).status_code == 302
    # A fresh state of the person's own, with the old, spent code.
    second = _allow(browser, bank, _start(browser, bank))
    page = browser.get(callback_path(), {**second, "code": first["code"]})
    assert page.status_code == 400
    assert b"already used" in page.content
    refusal = _last_refusal()
    assert (refusal["code"], refusal["bank_error"]) == ("code_invalid", "invalid_grant")


def test_an_expired_code_is_refused(browser: Client, bank: Partner) -> None:
    back = _allow(browser, bank, _start(browser, bank))
    SimulatedAuthorisationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert browser.get(callback_path(), back).status_code == 400
    assert _last_refusal()["code"] == "code_invalid"
    assert not AccountLink.objects.exists()


def test_the_token_endpoint_checks_pkce_and_spends_codes_once(browser: Client, bank: Partner) -> None:
    verifier = new_code_verifier()
    authorize = reverse("consent:simulator-authorize", kwargs={"slug": bank.slug})
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": callback_path(),
        "state": "s" * 43,
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": "S256",
    }
    code = parse_qs(urlsplit(browser.post(authorize, {**query, "account": "0"})["Location"]).query)["code"][0]
    token = reverse("consent:simulator-token", kwargs={"slug": bank.slug})
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": callback_path(), "client_id": CLIENT_ID}
    server = Client()  # the portal's server: no session, no CSRF token
    wrong = server.post(token, {**body, "code_verifier": new_code_verifier()})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    # The wrong verifier spent the code: even the right one is refused now.
    assert server.post(token, {**body, "code_verifier": verifier}).json()["error"] == "invalid_grant"
    code = parse_qs(urlsplit(browser.post(authorize, {**query, "account": "0"})["Location"]).query)["code"][0]
    ok = server.post(token, {**body, "code": code, "code_verifier": verifier})
    assert ok.status_code == 200
    assert ok.json()["account_mask"].startswith("••••")
    assert server.post(token, {**body, "code": code, "code_verifier": verifier}).status_code == 400
    assert server.post(token, {"grant_type": "password"}).json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"redirect_uri": "https://evil.example/steal"}, b"address this bank does not know"),
        ({"code_challenge_method": "plain"}, b"PKCE"),
        ({"client_id": "someone"}, b"client this bank does not know"),
        ({"state": ""}, b"no state"),
    ],
)
def test_the_simulator_refuses_bad_authorisation_requests(
    browser: Client, bank: Partner, change: dict[str, str], problem: bytes
) -> None:
    query = _start(browser, bank)
    authorize = reverse("consent:simulator-authorize", kwargs={"slug": bank.slug})
    page = browser.get(authorize, {**query, **change})
    assert page.status_code == 400
    assert problem in page.content
    assert browser.post(authorize, {**query, **change, "account": "0"}).status_code == 400


def test_a_sandbox_bank_cannot_be_linked_by_strangers(browser: Client) -> None:
    sandbox = live_bank(status=Partner.Status.SANDBOX)
    assert browser.post(reverse("consent:link-start", kwargs={"slug": sandbox.slug})).status_code == 404


@override_settings(PORTAL_DEMO_FEATURES=False)
def test_without_demo_features_the_simulator_does_not_exist(browser: Client, bank: Partner) -> None:
    assert browser.get(reverse("consent:simulator-authorize", kwargs={"slug": bank.slug})).status_code == 404
    assert Client().post(reverse("consent:simulator-token", kwargs={"slug": bank.slug})).status_code == 404
    response = browser.post(reverse("consent:link-start", kwargs={"slug": bank.slug}))
    assert response.status_code == 409
    assert b"cannot be linked from here yet" in response.content
