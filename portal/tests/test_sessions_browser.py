"""In Chromium: one person signed in on two browsers signs the other out from the sessions page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations
from portal.tests.factories import UserFactory
from portal.tests.signing_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """Yield a page in a second browser context of its own (its own cookies): the person's phone, 390 px wide."""
    context = browser.new_context(
        base_url=live_server.url,
        timezone_id="Europe/London",
        locale="en-GB",
        viewport={"width": 390, "height": 844},
        user_agent=PHONE_AGENT,
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _save(page: Any, name: str) -> None:
    screenshot(page, f"sessions-{name}")


def test_sign_out_everywhere_else_signs_the_other_browser_out(page: Any, phone: Any) -> None:
    person = UserFactory(full_name="Ada Lovelace")
    page.goto("/accounts/login/")
    keep = page.get_by_label("Keep me signed in on this device for 2 weeks")
    expect(keep).not_to_be_checked()  # off unless the person ticks it
    _save(page, "login")
    assert serious_accessibility_violations(page) == []
    sign_in(page, person.email)
    sign_in(phone, person.email)

    page.get_by_role("link", name="Security").click()
    page.get_by_role("link", name="Where you are signed in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Where you are signed in")
    sessions = page.locator("li.session")
    expect(sessions).to_have_count(2)
    expect(sessions.first).to_contain_text("This device")
    expect(sessions.nth(1)).to_contain_text("Safari on iPhone")
    expect(sessions.nth(1)).not_to_contain_text("This device")
    _save(page, "page-desktop")
    assert serious_accessibility_violations(page) == []

    phone.goto("/accounts/sessions/")
    expect(phone.locator("li.session").first).to_contain_text("This device")
    _save(phone, "page-390")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sideways at 390 px
    assert serious_accessibility_violations(phone) == []

    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_text("Signed out on 1 other device.")).to_be_visible()
    expect(page.locator("li.session")).to_have_count(1)
    _save(page, "page-after")

    phone.get_by_role("link", name="My banks").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto("/me/")
    expect(page.get_by_role("link", name="My banks")).to_be_visible()  # this browser stays signed in
