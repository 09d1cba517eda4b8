"""In Chromium, as a new person would: sign up, link the demo bank, grant, download a receipt, withdraw."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations
from consent.models import ConsentGrant
from consent.receipts import receipt_verifies
from portal.management.commands.seed_demo import DEMO_API_KEY
from portal.tests.factories import PASSWORD, UserFactory
from portal.tests.signing_in import confirm_sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _no_serious_violations(page: Any, name: str) -> None:
    screenshot(page, name)
    assert serious_accessibility_violations(page) == [], name


def _consents(page: Any) -> list[dict[str, Any]]:
    """Return what the demo bank's API says about its consents (as the bank's servers would see it)."""
    response = page.request.get("/api/v1/consents/", headers={"Authorization": f"Bearer {DEMO_API_KEY}"})
    assert response.ok
    return [c for c in response.json()["results"] if c["link"] != _demo_user_link_ids()[0]]


def _demo_user_link_ids() -> list[int]:
    return list(
        ConsentGrant.objects.filter(user__email="user@demo.example").values_list("link_id", flat=True).distinct()
    )


def _sign_up(page: Any, email: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Full name").fill("Robin Newcomer")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    confirm_sign_up(page, email)
    expect(page.get_by_role("heading", level=1)).to_have_text("My banks")


def test_a_new_person_links_grants_downloads_a_receipt_and_withdraws(page: Any, tmp_path: Path) -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - the demo bank, live
    _sign_up(page, "robin@example.test")
    _no_serious_violations(page, "consent-01-dashboard-empty")

    # Link the demo bank through the simulator.
    page.get_by_role("link", name="Link a bank").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Link a bank")
    _no_serious_violations(page, "consent-02-banks")
    page.get_by_role("button", name="Link Demo Bank plc").click()
    expect(page.get_by_text("Bank simulator.")).to_be_visible()
    _no_serious_violations(page, "consent-03-simulator")
    page.get_by_label(re.compile(r"^Current account")).check()
    page.get_by_role("button", name="Allow").click()

    # The consent screen: nothing ticked; tick two scopes by keyboard, leaving shipping updates off.
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose what Demo Bank plc may send you")
    expect(page.get_by_role("status")).to_contain_text("is linked")
    checkboxes = page.locator("input[type=checkbox]")
    assert checkboxes.count() > 0
    for i in range(checkboxes.count()):
        expect(checkboxes.nth(i)).not_to_be_checked()
    _no_serious_violations(page, "consent-04-consent-screen")
    page.get_by_label("Account updates: balance update messages").focus()
    page.keyboard.press("Space")
    page.get_by_label("Receipts and shipping").focus()
    page.keyboard.press("Space")
    page.get_by_label("Receipts", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Shipping updates")).not_to_be_checked()
    page.get_by_role("button", name="Grant what I ticked").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("You granted 2 permissions to Demo Bank plc")
    bank_section = page.get_by_role("region", name="Demo Bank plc")
    expect(bank_section.get_by_role("row")).to_have_count(3)  # header and two permissions
    expect(bank_section).to_contain_text("Your account balances")
    expect(bank_section).to_contain_text("Your card payments")
    _no_serious_violations(page, "consent-05-dashboard-granted")
    mine = _consents(page)
    assert sorted((c["scope"], c["status"], tuple(c["message_types"])) for c in mine) == [
        ("balances.read", "active", ("balance_update",)),
        ("card_transactions.read", "active", ("receipt",)),
    ]

    # The receipt: a readable page and a JSON download whose hash verifies.
    page.get_by_role("link", name=re.compile(r"^Receipt for Your card payments")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent receipt: permission granted")
    _no_serious_violations(page, "consent-06-receipt")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download receipt (JSON)").click()
    saved = tmp_path / "receipt.json"
    download_info.value.save_as(saved)
    document = json.loads(saved.read_text())
    assert receipt_verifies(document)
    assert document["receipt"]["grant"]["message_types"] == ["receipt"]
    receipt_url = page.url

    # Another person reaches none of it.
    stranger = page.context.browser.new_context(base_url=page.url.split("/me/")[0])
    other = stranger.new_page()
    stranger_user = UserFactory()
    other.goto("/accounts/login/")
    other.get_by_label("Email address").fill(stranger_user.email)
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Sign in").click()
    assert other.goto(receipt_url).status == 404
    expect(other.get_by_role("heading", level=1)).to_have_text("Page not found")
    other.goto("/me/")
    expect(other.get_by_text("Demo Bank plc")).to_have_count(0)
    stranger.close()

    # Withdraw one scope, then everything.
    page.get_by_role("link", name="My banks").click()
    page.get_by_role("link", name="Withdraw Your account balances for account updates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Withdraw 'Your account balances'?")
    expect(page.get_by_role("main")).to_contain_text("What stops, the moment you confirm")
    _no_serious_violations(page, "consent-07-confirm-withdrawal")
    page.get_by_role("button", name="Withdraw this permission").click()
    expect(page.get_by_role("status")).to_contain_text("Permission withdrawn")
    _no_serious_violations(page, "consent-07-dashboard-one-withdrawn")
    assert sorted((c["scope"], c["status"], c["revoked_by"]) for c in _consents(page)) == [
        ("balances.read", "revoked", "user"),
        ("card_transactions.read", "active", None),
    ]

    # Undo it within the window: a new grant on the same wording, the withdrawal stays on the record.
    page.get_by_role("button", name="Undo the withdrawal").click()
    expect(page.get_by_role("status")).to_contain_text("Undone")
    expect(page.get_by_role("button", name="Undo the withdrawal")).to_have_count(0)
    assert sorted((c["scope"], c["status"]) for c in _consents(page)) == [
        ("balances.read", "active"),
        ("balances.read", "revoked"),
        ("card_transactions.read", "active"),
    ]

    page.get_by_role("link", name="Withdraw every permission at every bank").click()
    expect(page.get_by_role("listitem").filter(has_text="Demo Bank plc")).to_have_count(2)
    page.get_by_role("button", name="Withdraw every permission at every bank").click()
    expect(page.get_by_role("status")).to_contain_text("withdrawn, at every bank")
    expect(page.get_by_role("link", name="Withdraw every permission at every bank")).to_have_count(0)
    expect(page.get_by_role("link", name="Withdraw everything from Demo Bank plc")).to_have_count(0)
    _no_serious_violations(page, "consent-08-dashboard-all-withdrawn")
    assert {c["status"] for c in _consents(page)} == {"revoked"}

    # The history lists every change with its receipt.
    page.get_by_role("link", name="Your full consent history and receipts").click()
    # header, linked, two granted, one withdrawn, granted again by the undo, two withdrawn
    expect(page.get_by_role("row")).to_have_count(1 + 1 + 2 + 1 + 1 + 2)
    _no_serious_violations(page, "consent-09-history")


def test_a_bad_choice_is_summarised_at_the_top_and_beside_the_purpose(page: Any) -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    _sign_up(page, "casey@example.test")
    page.goto("/me/banks/")
    page.get_by_role("button", name="Link Demo Bank plc").click()
    page.get_by_label(re.compile(r"^Savings account")).check()
    page.get_by_role("button", name="Allow").click()
    page.get_by_label("Receipts and shipping").check()
    page.get_by_role("button", name="Grant what I ticked").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Choose at least one kind of message")
    expect(summary).to_be_focused()
    expect(page.locator(".purpose-option.field-error")).to_have_count(1)
    expect(page.get_by_label("Receipts and shipping")).to_be_checked()  # the person's own tick survives
    _no_serious_violations(page, "consent-10-consent-screen-error")
    assert not ConsentGrant.objects.filter(user__email="casey@example.test").exists()
