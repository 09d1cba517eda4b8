"""In Chromium: a member of staff sets up an authenticator app, saves the recovery codes, and signs in with a code."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations
from portal.tests.factories import PASSWORD, PlatformStaffFactory
from portal.tests.signing_in import code_for_key_text, totp_code, totp_device_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _password(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def check(page: Any, name: str) -> None:
    """Save a screenshot of the page and fail on any serious accessibility problem."""
    screenshot(page, name)
    assert serious_accessibility_violations(page) == []


def test_staff_set_up_an_app_save_the_codes_and_sign_in_with_a_code_by_keyboard(page: Any) -> None:
    staff = PlatformStaffFactory()
    _password(page, staff.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert page.evaluate("document.querySelector('img.qr-code').naturalWidth") > 100  # the SVG drew
    check(page, "second-factor-set-up")

    page.get_by_label("Code from the app").fill("000000")
    page.get_by_role("button", name="Confirm the app").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("The code does not match")
    expect(summary).to_be_focused()
    check(page, "second-factor-set-up-error")

    page.get_by_label("Code from the app").fill(code_for_key_text(page.locator("#totp-key").inner_text()))
    page.get_by_label("Code from the app").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes now")
    expect(page.locator("ul.recovery-codes li")).to_have_count(10)
    check(page, "second-factor-recovery-codes")
    page.get_by_role("link", name="I have saved my recovery codes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bank reviews")

    page.get_by_role("button", name="Sign out").click()
    _password(page, staff.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code from your authenticator app")
    check(page, "second-factor-code")
    page.get_by_label("Code").fill("12345")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("The code is not right")
    expect(page.locator(".field-error")).to_have_count(1)
    check(page, "second-factor-code-error")
    page.wait_for_timeout(1100)  # django-otp's throttle: one second after a wrong code
    page.get_by_label("Code").fill(totp_code(totp_device_for(staff)))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bank reviews")

    page.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    expect(page.get_by_text("10 unused recovery codes")).to_be_visible()
    check(page, "second-factor-security")
