"""In Chromium, a compliance officer opens a report and sees its chart drawn; a bank's contact sees its figures."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from compliance.reports import REPORTS
from conftest import screenshot, serious_accessibility_violations
from portal.tests.factories import ComplianceStaffFactory
from portal.tests.signing_in import sign_in, sign_in_verified

from .report_world import report_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Where to put screenshots beside the artifacts (a helper's own folder, say); unset: artifacts only.
EXTRA_SHOTS = os.environ.get("REPORT_SCREENSHOTS", "")


def shoot(page: Any, name: str) -> None:
    """Save the page at desktop width and at 390 px (a phone), and look for serious accessibility problems."""
    for width, suffix in ((1280, "desktop"), (390, "390")):
        page.set_viewport_size({"width": width, "height": 900})
        path = screenshot(page, f"reports-{name}-{suffix}")
        if EXTRA_SHOTS:
            page.screenshot(path=f"{EXTRA_SHOTS}-{name}-{suffix}.png", full_page=True)
        assert path.exists()
    page.set_viewport_size({"width": 1280, "height": 900})
    assert serious_accessibility_violations(page) == [], name


def watch_console(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_a_report_draws_its_chart_without_errors(page: Any, live_server: Any) -> None:
    report_world(3)
    officer = ComplianceStaffFactory()
    errors = watch_console(page)
    sign_in(page, officer.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    shoot(page, "index")
    page.get_by_role("link", name="Grants, revocations and expiries").click()
    canvas = page.locator("canvas[data-chart]")
    expect(canvas).to_be_visible()
    # Chart.js registers every chart it drew on its canvas.
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
    assert page.evaluate("() => Chart.getChart(document.querySelector('canvas[data-chart]')).data.datasets.length") == 3
    expect(page.get_by_role("table")).to_contain_text("Alpha Bank")
    shoot(page, "consent-activity")
    for slug in REPORTS:
        if slug == "consent-activity":
            continue
        page.goto(f"/compliance/reports/{slug}/")
        page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
        shoot(page, slug)
    assert errors == []
    # A bad month answers 400 (the browser logs that status), with the error summary.
    page.goto("/compliance/reports/consent-activity/?from=2026-13")
    expect(page.get_by_role("alert")).to_contain_text("Write the month")
    shoot(page, "bad-filter")


def test_a_banks_contact_sees_its_figures_and_reports(page: Any, live_server: Any) -> None:
    world = report_world(3)
    errors = watch_console(page)
    client = Client()
    sign_in_verified(client, world.contact_a)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page.goto(f"/bank/{world.bank_a.slug}/")
    shoot(page, "bank-home")
    page.get_by_role("navigation", name="Your bank").get_by_role("link", name="Figures").click()
    page.wait_for_function("() => window.Chart && document.querySelectorAll('canvas[data-chart]').length === 2")
    page.wait_for_function("() => Chart.getChart(document.querySelectorAll('canvas[data-chart]')[1])")
    shoot(page, "bank-figures")
    page.get_by_role("navigation", name="Your bank").get_by_role("link", name="Deliveries").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deliveries")
    shoot(page, "bank-deliveries")
    page.get_by_role("navigation", name="Your bank").get_by_role("link", name="Reports").click()
    shoot(page, "bank-reports")
    page.get_by_role("link", name="Deliveries per purpose and channel").click()
    expect(page.get_by_role("table")).not_to_contain_text("Beta Bank")
    shoot(page, "bank-report-deliveries")
    assert errors == []
