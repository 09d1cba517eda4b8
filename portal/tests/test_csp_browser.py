"""In Chromium: the Content-Security-Policy blocks nothing the portal itself serves, admin and API docs included."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from partners.tests.factories import PartnerFactory, member_of
from portal.models import User
from portal.tests.factories import PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_as(page: Any, live_server: Any, user: User) -> None:
    """Give the browser `user`'s session cookie: this test is about headers, not the sign-in form."""
    client = Client()
    sign_in_verified(client, user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.clear_cookies()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def test_no_page_reports_a_csp_violation(page: Any, live_server: Any) -> None:
    reports: list[str] = []
    page.on("console", lambda message: reports.append(f"{page.url}: {message.text}"))
    # Violations also fire an event in the page; count them there too, in case a message is worded anew.
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )

    def visit(path: str, ready: str) -> None:
        response = page.goto(path)
        assert response is not None, path
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__cspViolations") == [], path

    visit("/", "h1")
    visit("/accounts/login/", "h1")
    sign_in_as(page, live_server, UserFactory())
    visit("/me/", "h1")
    visit("/me/inbox/", "h1")
    visit("/accounts/security/", "h1")
    visit("/accounts/second-factor/set-up/", "img.qr-code")  # the QR code is a data: image, which img-src allows
    bank = PartnerFactory(legal_name="Northwind Savings")
    sign_in_as(page, live_server, member_of(bank))
    visit(f"/bank/{bank.slug}/", "h1")
    visit(f"/bank/{bank.slug}/deliveries/", "canvas#delivery-chart")  # Chart.js draws under the policy
    sign_in_as(page, live_server, PlatformStaffFactory())
    visit("/admin/", "#content")
    visit("/admin/partners/partner/", "#changelist")
    visit("/api/docs/", ".swagger-ui .info")  # Swagger UI rendered the schema
    violations = [report for report in reports if "Content Security Policy" in report]
    assert violations == []
