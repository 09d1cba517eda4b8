"""In Chromium: a bank applies, its first manager joins from the email, and staff review the bank."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations, wait_for
from partners.models import Partner
from partners.services import scope_publish, scope_update, terms_publish
from partners.tests.factories import PartnerFactory, published_scope
from portal.tests.factories import PASSWORD, ComplianceStaffFactory, PlatformStaffFactory
from portal.tests.signing_in import code_for_key_text, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page: Any, name: str) -> None:
    """Save a screenshot of the page and fail on any serious accessibility problem."""
    screenshot(page, name)
    assert serious_accessibility_violations(page) == []


def test_a_bank_applies_its_manager_joins_and_staff_move_it_to_the_sandbox(page: Any, live_server: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="Apply to become a partner bank").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply to become a partner bank")
    check(page, "onboarding-apply")

    page.get_by_label("Bank's legal name").fill("Northwind Savings plc")
    page.get_by_label("Country of registration").select_option(label="United Kingdom")
    page.get_by_label("Type of identifier").select_option(label="Legal Entity Identifier (LEI)")
    page.get_by_label("Identifier", exact=True).fill("5493001KJTIIGC8Y1R13")  # one digit wrong
    page.get_by_label("Bank's website").fill("https://northwind.example")
    page.get_by_label("Security contact email").fill("security@northwind.example")
    page.get_by_label("Your work email address").fill("ana@northwind.example")
    page.get_by_role("button", name="Send the application").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("check digits do not match")
    expect(summary).to_be_focused()
    expect(page.locator("#id_identifier_error")).to_contain_text("This is not a valid LEI")
    check(page, "onboarding-apply-invalid-lei")
    assert not Partner.objects.exists()

    page.get_by_label("Identifier", exact=True).fill("5493001KJTIIGC8Y1R12")
    page.get_by_role("button", name="Send the application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.get_by_role("status")).to_contain_text("ana@northwind.example")
    check(page, "onboarding-apply-sent")

    message = wait_for(lambda: mail.outbox[-1] if mail.outbox else None)
    assert message.to == ["ana@northwind.example"]
    found = re.search(r"https?://\S+/invitations/\S+/", message.body)
    assert found is not None
    link = found.group(0).replace(settings.PORTAL_SITE_URL.rstrip("/"), live_server.url)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Northwind Savings plc")
    expect(page.get_by_text("Partnership manager")).to_be_visible()
    check(page, "onboarding-invitation")
    page.get_by_label("Full name").fill("Ana Manager")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account and join").click()
    partner = Partner.objects.get()
    # A bank member must have a second factor: the new manager sets up an authenticator app first.
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    expect(page.get_by_role("status")).to_contain_text("you joined Northwind Savings plc as partnership manager")
    check(page, "onboarding-second-factor-set-up")
    page.get_by_label("Code from the app").fill(code_for_key_text(page.locator("#totp-key").inner_text()))
    page.get_by_role("button", name="Confirm the app").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes now")
    page.get_by_role("link", name="I have saved my recovery codes").click()
    expect(page).to_have_url(re.compile(f"/bank/{partner.slug}/$"))
    screenshot(page, "onboarding-bank-page")

    # The link works once: opening it again explains that, without a sign-up form.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This invitation was already used")
    page.get_by_role("button", name="Sign out").click()

    staff = PlatformStaffFactory()
    sign_in(page, staff.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bank reviews")
    page.get_by_role("navigation", name="Banks by status").get_by_role("link", name=re.compile("^Applied")).click()
    check(page, "staff-queue-applied")
    page.get_by_role("link", name="Northwind Savings plc").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Savings plc")
    check(page, "staff-bank-applied")

    for status, note in (("In review", "Documents and LEI checked."), ("Sandbox", "Approved for the sandbox.")):
        page.get_by_label("Move the bank to").select_option(label=status)
        page.get_by_label("Note").fill(note)
        page.get_by_role("button", name="Change the status").click()
        expect(page.get_by_role("status")).to_contain_text(f"is now “{status}”")
        expect(page.get_by_role("table").filter(has_text=note)).to_be_visible()
    partner.refresh_from_db()
    assert partner.status == Partner.Status.SANDBOX
    check(page, "staff-bank-sandbox")


def test_terms_and_scope_review_pages_read_well(page: Any) -> None:
    terms_publish(title="Usage terms", body="# Our promise\n\nNever for advertising.", actor=None)
    sign_in(page, PlatformStaffFactory().email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage terms").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage terms")
    check(page, "staff-terms")
    page.get_by_role("link", name="Publish a new version").click()
    expect(page.get_by_label("Title")).to_have_value("Usage terms")  # a new version starts from the current one
    page.get_by_label("Title").fill("")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert")).to_contain_text("Give the terms a title.")
    check(page, "staff-terms-new-errors")
    page.get_by_label("Title").fill("Usage terms 2026")
    page.get_by_label("Text of the terms").fill("# What banks promise\n\n- Only the purposes people chose\n- Never ads")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="What banks promise")).to_be_visible()
    check(page, "staff-terms-preview")
    page.get_by_role("button", name="Publish these terms").click()
    expect(page.get_by_role("status")).to_contain_text("Version 2 of the usage terms is published.")
    page.get_by_role("button", name="Sign out").click()

    scope = published_scope(PartnerFactory(legal_name="Contoso Bank"), "card_transactions.read")
    scope_update(scope=scope, actor=None, sensitivity="high", retention_days=60)
    scope_publish(scope=scope, actor=None)
    sign_in(page, ComplianceStaffFactory().email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scope reviews").click()
    page.get_by_role("button", name="Send back to the bank").click()
    expect(page.get_by_role("alert")).to_contain_text("Say what the bank must change.")
    check(page, "compliance-scope-review-error")
    page.get_by_label("Note").fill("Why keep card data for 60 days?")
    page.get_by_role("button", name="Send back to the bank").click()
    expect(page.get_by_role("status")).to_contain_text("sent back to the bank")
    expect(page.get_by_text("Nothing is waiting for review.")).to_be_visible()
