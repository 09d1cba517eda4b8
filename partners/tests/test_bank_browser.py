"""In Chromium, a bank's manager sets the bank up, accepts the usage terms and invites a colleague."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations
from partners.models import (
    ChatbotCapability,
    DataScope,
    PartnerApiKey,
    PartnerMembership,
    TermsAcceptance,
    WebhookEndpoint,
)
from partners.selectors import partner_api_key_for_raw
from partners.services import terms_accept, terms_publish
from partners.tests.factories import PartnerFactory, member_of
from portal.tests.signing_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page: Any, name: str) -> None:
    """Save a screenshot of the page and fail on any serious accessibility violation."""
    screenshot(page, f"bank-{name}")
    assert serious_accessibility_violations(page) == [], name


def test_a_manager_declares_a_scope_and_capability_and_makes_a_key_and_an_endpoint(page: Any) -> None:
    bank = PartnerFactory(legal_name="Northwind Savings")
    manager = member_of(bank)
    sign_in(page, manager.email)
    expect(page).to_have_url(re.compile(f"/bank/{bank.slug}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Savings")
    expect(page.get_by_role("heading", name="Next step")).to_be_visible()
    check(page, "overview-new")

    # A scope: first with a grant that is too long, then right; then published.
    bank_nav = page.get_by_role("navigation", name="Your bank")
    bank_nav.get_by_role("link", name="Scopes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scopes")
    page.get_by_role("link", name="Declare a scope").click()
    page.get_by_label("Code", exact=True).fill("balances.read")
    page.get_by_label("Name people read").fill("Your account balances")
    page.get_by_label("What you share and why").fill(
        "Your current balance, so that we can message you when it changes."
    )
    page.get_by_label("Data category").select_option("balances")
    page.get_by_label("Data fields").fill("balance — current balance\navailable — what you can spend")
    purposes = page.get_by_role("group", name="Purposes")
    for checkbox in purposes.get_by_role("checkbox").all():
        expect(checkbox).not_to_be_checked()  # nothing is pre-ticked
    purposes.get_by_label("Account updates").check()
    page.get_by_role("group", name="Sensitivity").get_by_label("Low").check()
    page.get_by_label("How long you keep the data (days)").fill("30")
    page.get_by_label("Longest grant (days)").fill("400")
    page.get_by_role("button", name="Save the draft").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Enter a whole number of days from 1 to 365.")
    expect(summary).to_be_focused()
    check(page, "scope-error")
    summary.get_by_role("link", name="Enter a whole number of days from 1 to 365.").click()
    expect(page.get_by_label("Longest grant (days)")).to_be_focused()
    page.get_by_label("Longest grant (days)").fill("180")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("status")).to_contain_text("The scope balances.read is saved as a draft")
    check(page, "scope-draft")
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_role("status")).to_contain_text("Version 1 of balances.read is published")
    check(page, "scope-published")
    scope = DataScope.objects.get(partner=bank)
    assert scope.published_version is not None

    # A capability that uses the published scope.
    bank_nav.get_by_role("link", name="Capabilities").click()
    page.get_by_role("link", name="Describe a capability").click()
    page.get_by_label("Code", exact=True).fill("check_balance")
    page.get_by_label("Name", exact=True).fill("Check my balance")
    page.get_by_label("What it does").fill("Tells you your balance when you ask.")
    page.get_by_label("What people might say").fill("What's my balance?\nHow much is in my account?")
    page.get_by_role("group", name="Scopes it needs").get_by_label(re.compile("^balances.read")).check()
    messages = page.get_by_role("group", name="Messages it sends")
    messages.get_by_label("Balance update").check()
    messages.get_by_label("Chat reply").check()
    page.get_by_label("Status").select_option("published")
    check(page, "capability-form")
    page.get_by_role("button", name="Save the capability").click()
    expect(page.get_by_role("status")).to_contain_text("The capability check_balance is saved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check my balance")
    check(page, "capability")
    assert [s.code for s in ChatbotCapability.objects.get(partner=bank).scopes.all()] == ["balances.read"]

    # An API key, shown once.
    bank_nav.get_by_role("link", name="API keys").click()
    page.get_by_label("Name", exact=True).fill("Payments server")
    page.get_by_label("Sandbox").check()
    page.get_by_role("button", name="Create the key").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Copy your new API key now")
    raw_key = page.get_by_label("API key").input_value()
    assert raw_key.startswith("pbk_sandbox_")
    assert partner_api_key_for_raw(raw_key=raw_key) == PartnerApiKey.objects.get(partner=bank)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy the key").click()
    expect(page.get_by_text("Copied.", exact=True)).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw_key
    check(page, "key-once")
    page.get_by_role("link", name="I have copied it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    expect(page.get_by_role("cell", name="Payments server", exact=True)).to_be_visible()
    assert raw_key not in page.content()
    check(page, "keys")

    # A webhook endpoint, its secret shown once.
    bank_nav.get_by_role("link", name="Webhooks").click()
    page.get_by_label("Address").fill("https://api.northwind.example/webhooks")
    page.get_by_label("Description (optional)").fill("Consent changes")
    events = page.get_by_role("group", name="Events to send")
    events.get_by_label("A person granted a scope").check()
    events.get_by_label("A grant was revoked").check()
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Copy the signing secret now")
    secret = page.get_by_label("Signing secret").input_value()
    assert secret == WebhookEndpoint.objects.get(partner=bank).secret
    check(page, "webhook-secret-once")
    page.get_by_role("link", name="I have copied it").click()
    expect(page.locator("code.url", has_text="https://api.northwind.example/webhooks")).to_be_visible()
    assert secret not in page.content()
    check(page, "webhooks")

    # The overview ticks off what is done and names the next step.
    bank_nav.get_by_role("link", name="Overview").click()
    checklist = page.get_by_role("list", name="Before you go live")
    expect(checklist.get_by_role("listitem").filter(has_text="A published scope")).to_contain_text("Done")
    expect(checklist.get_by_role("listitem").filter(has_text="An API key")).to_contain_text("Done")
    expect(page.locator(".next-step")).to_contain_text("Platform staff switch your bank to live")
    check(page, "overview-set-up")


def test_a_manager_reads_what_changed_in_the_terms_accepts_them_and_invites_a_colleague(page: Any) -> None:
    bank = PartnerFactory(legal_name="Northwind Savings")
    manager = member_of(bank)
    member_of(bank, PartnerMembership.Role.COMPLIANCE)
    first = terms_publish(
        title="Usage terms", body="# Usage terms\n\nKeep data for **30 days**.\n\nNever advertise.", actor=None
    )
    terms_accept(partner=bank, terms=first, user=manager)
    terms_publish(
        title="Usage terms",
        body="# Usage terms\n\nKeep data for **14 days**.\n\nNever advertise.\n\nAttest deletion within 7 days.",
        actor=None,
    )
    sign_in(page, manager.email)
    page.get_by_role("navigation", name="Your bank").get_by_role("link", name="Usage terms").click()
    expect(page.get_by_role("heading", name="What changed since version 1")).to_be_visible()
    changes = page.get_by_role("table", name="Lines removed from and added to the terms")
    expect(changes.get_by_role("row").filter(has_text="Removed")).to_contain_text("30 days")
    expect(changes.get_by_role("row").filter(has_text="Added").first).to_contain_text("14 days")
    check(page, "terms-changed")
    page.get_by_label("I accept these terms for Northwind Savings").check()
    page.get_by_role("button", name="Accept version 2").click()
    expect(page.get_by_role("status")).to_contain_text("You accepted version 2 of the usage terms")
    assert TermsAcceptance.objects.filter(partner=bank, terms__version=2).exists()
    check(page, "terms-accepted")

    page.get_by_role("navigation", name="Your bank").get_by_role("link", name="Members").click()
    page.get_by_label("Email address").fill("dev@northwind.example")
    page.get_by_role("group", name="Role").get_by_label("Developer").check()
    page.get_by_label("Developer").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("We emailed an invitation to dev@northwind.example")
    expect(page.get_by_role("button", name="Withdraw the invitation to dev@northwind.example")).to_be_visible()
    check(page, "members")
