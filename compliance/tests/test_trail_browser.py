"""In Chromium, as a compliance officer: find one person's revoke by filters, open it, verify the chain."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from compliance.models import AuditEntry, VerificationRun
from conftest import screenshot, serious_accessibility_violations
from consent.services import consent_revoke
from consent.tests.factories import AccountLinkFactory, ConsentGrantFactory
from partners.models import PartnerMembership
from partners.tests.factories import member_of
from portal.tests.signing_in import sign_in

from .trail_world import trail_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _shots(page: Any, name: str) -> None:
    """Screenshot the page at desktop and phone width (kept under artifacts/screenshots)."""
    screenshot(page, f"trail-{name}-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, f"trail-{name}-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, f"{name} scrolls sideways"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.worker
def test_an_officer_finds_a_revoke_opens_it_and_verifies(page: Any, celery_worker_process: Any) -> None:
    world = trail_world()
    # Alice and Bob each withdraw a permission at bank A, as they would on their dashboard.
    grants = [
        ConsentGrantFactory(link=AccountLinkFactory(user=who, partner=world.bank_a)) for who in (world.alice, world.bob)
    ]
    for grant in grants:
        consent_revoke(grant=grant, actor=grant.user)
    alices = AuditEntry.objects.get(action="consent.revoke", person_id=world.alice.pk)
    sign_in(page, world.officer.email)
    page.goto("/compliance/")
    page.get_by_label("About person (email or id)").fill(world.alice.email)
    page.get_by_label("Action", exact=True).select_option("consent.revoke")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.trail tbody tr")
    assert rows.count() == 1
    assert "Alpha Bank plc" in rows.first.inner_text()
    assert not serious_accessibility_violations(page)
    _shots(page, "list")

    with page.expect_navigation():
        rows.first.get_by_role("link").click()
    page.get_by_role("heading", name=f"Audit entry {alices.pk}").wait_for()
    recorded = page.locator("dl.audit-data").first.inner_text()
    assert "status" in recorded
    assert "revoked" in recorded
    assert not serious_accessibility_violations(page)
    _shots(page, "detail")

    # The made-up entry with a before and after shows them side by side.
    page.goto(f"/compliance/entries/{world.named['alice_revoke'].pk}/")
    changed = page.locator("table.entry-changes tbody tr").first
    assert changed.inner_text().split("\t") == ["status", "active", "revoked"]
    _shots(page, "change")

    page.goto("/compliance/")
    with page.expect_navigation():
        page.get_by_role("button", name="Verify the chain").click()
    # The worker verifies; the page follows it and shows the result when it is done.
    page.get_by_text("The chain is intact.").wait_for(timeout=60_000)
    assert page.locator("progress").count() == 0
    _shots(page, "verified")


def test_the_progress_bar_follows_a_run_to_its_result(page: Any) -> None:
    world = trail_world()
    run = VerificationRun.objects.create(status=VerificationRun.Status.RUNNING, checked=400, total=1000)
    sign_in(page, world.officer.email)
    page.goto(f"/compliance/verify/{run.pk}/")
    bar = page.locator("progress#verification-progress")
    assert bar.get_attribute("value") == "40"
    assert not serious_accessibility_violations(page)
    _shots(page, "progress")
    VerificationRun.objects.filter(pk=run.pk).update(checked=800)
    expect(bar).to_have_attribute("value", "80")
    assert "800 of 1000 entries checked" in page.locator("#verification-state").inner_text()
    VerificationRun.objects.filter(pk=run.pk).update(
        status=VerificationRun.Status.DONE,
        checked=1000,
        broken_at=734,
        reason="its contents do not match its hash (altered)",
    )
    page.get_by_text("The chain breaks at entry #734").wait_for()
    assert "its contents do not match its hash (altered)" in page.locator("[role=alert]").inner_text()
    _shots(page, "broken")


def test_a_banks_contact_reads_their_slice(page: Any) -> None:
    world = trail_world()
    contact = member_of(world.bank_a, PartnerMembership.Role.COMPLIANCE)
    sign_in(page, contact.email)
    page.goto(f"/bank/{world.bank_a.slug}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Audit trail").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Everything").click()
    assert page.url.endswith("?kind=all"), page.url
    text = page.locator("table.trail").inner_text()
    assert "Alpha Bank plc" in text
    assert "Beta Bank plc" not in text
    assert not serious_accessibility_violations(page)
    _shots(page, "bank")
