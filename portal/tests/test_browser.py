"""In Chromium, as people would: each role signs in through the form and lands on its own home."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations
from partners.tests.factories import PartnerFactory, member_of
from portal.tests.factories import PASSWORD, ComplianceStaffFactory, PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in, sign_up_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("role", "make_user", "path", "heading", "nav"),
    [
        ("end-user", UserFactory, "/me/", "My banks", ["My banks", "Inbox"]),
        (
            "platform-staff",
            PlatformStaffFactory,
            "/staff/banks/",
            "Bank reviews",
            ["Bank reviews", "Usage terms", "Deliveries", "Support", "Admin"],
        ),
        (
            "compliance-staff",
            ComplianceStaffFactory,
            "/compliance/",
            "Audit trail",
            ["Audit trail", "Scope reviews", "Reports", "Data requests"],
        ),
    ],
)
def test_each_role_signs_in_and_sees_its_home(
    page: Any, role: str, make_user: Any, path: str, heading: str, nav: list[str]
) -> None:
    user = make_user()
    sign_in(page, user.email)
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link")).to_have_text(nav)
    screenshot(page, f"home-{role}")
    assert serious_accessibility_violations(page) == []


def test_bank_member_signs_in_and_sees_their_bank(page: Any) -> None:
    bank = PartnerFactory(legal_name="Northwind Savings")
    user = member_of(bank)
    sign_in(page, user.email)
    expect(page).to_have_url(re.compile(f"/bank/{bank.slug}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Savings")
    expect(page.get_by_text("Your bank is in the sandbox")).to_be_visible()
    screenshot(page, "home-bank-member")
    assert serious_accessibility_violations(page) == []


def test_wrong_password_is_summarised_and_focusable(page: Any) -> None:
    user = UserFactory()
    sign_in(page, user.email, "not-the-password")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("The email address or password is not right")
    expect(summary).to_be_focused()
    screenshot(page, "login-error")


def test_sign_up_then_sign_out_by_keyboard(page: Any) -> None:
    page.goto("/")
    screenshot(page, "landing")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_label("Email address").fill("keyboard.person@example.test")
    page.get_by_label("Full name").fill("Keyboard Person")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("Password again").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    screenshot(page, "sign-up-sent")
    assert serious_accessibility_violations(page) == []
    page.goto(sign_up_link("keyboard.person@example.test"))
    screenshot(page, "sign-up-confirm")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("The password you chose").fill(PASSWORD)
    page.get_by_role("button", name="Confirm and sign in").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My banks")
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()


def test_sign_up_errors_show_in_summary_and_beside_fields(page: Any) -> None:
    page.goto("/accounts/sign-up/")
    page.get_by_label("Email address").fill("not-an-email")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.locator(".field-error")).to_have_count(3)
    screenshot(page, "sign-up-errors")
    assert serious_accessibility_violations(page) == []


def test_ten_wrong_passwords_show_the_lockout_page(page: Any) -> None:
    user = UserFactory()
    for _ in range(10):
        sign_in(page, user.email, "not-the-password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many tries: wait a little")
    expect(page.get_by_text("Try again after that")).to_be_visible()
    screenshot(page, "locked-out")
    assert serious_accessibility_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "locked-out-390")
    sign_in(page, user.email)  # the right password, too late
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many tries: wait a little")
