"""In Chromium, as a person with the inbox open: a bank posts an update and it appears without a reload.

The bank posts through the partner API of the live server, a real worker sends it, and the
gateway receiver gets it once; after a revoke, the bank's next post is refused and nothing new appears.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations, wait_for
from consent.services import consent_revoke
from delivery.demo_gateway import GatewayReceiver
from delivery.models import Delivery, InboxMessage
from delivery.tests.factories import balance_event, consenting
from portal.tests.signing_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _post(page: Any, api_key: str, event: dict[str, Any]) -> Any:
    return page.request.post("/api/v1/events/", data=event, headers={"Authorization": f"Bearer {api_key}"})


def test_a_posted_update_appears_in_the_open_inbox_once(
    page: Any, celery_worker_process: Any, gateway: GatewayReceiver
) -> None:
    c = consenting()
    sign_in(page, c.user.email)
    page.goto("/me/inbox/")
    expect(page.get_by_text("No messages yet.")).to_be_visible()
    screenshot(page, "inbox-01-empty")

    event = balance_event(c.link.pk, event_id="live-1", mask="•••• 4242")
    answer = _post(page, c.api_key, event)
    assert answer.status == 202, answer.text()
    # No reload: the page's poll adds the message (every 3 s) and announces it to screen readers.
    expect(page.get_by_role("heading", name="Balance of •••• 4242")).to_be_visible(timeout=20_000)
    expect(page.locator("#inbox-live")).to_have_text("1 new message")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_text("No messages yet.")).to_have_count(0)
    wait_for(lambda: len(gateway.state.messages) == 1)
    screenshot(page, "inbox-02-live-message")
    assert serious_accessibility_violations(page) == []

    # The bank retries the same event: the first answer again, nothing shown twice.
    assert _post(page, c.api_key, event).status == 200
    consent_revoke(grant=c.grant, actor=c.user)
    refused = _post(page, c.api_key, balance_event(c.link.pk, event_id="live-2", mask="•••• 4343"))
    assert refused.status == 403
    assert refused.json()["error"]["code"] == "consent_required"
    page.wait_for_timeout(4_000)  # one more poll
    expect(page.locator(".inbox-message")).to_have_count(1)
    page.reload()
    expect(page.locator(".inbox-message")).to_have_count(1)
    assert InboxMessage.objects.filter(user=c.user).count() == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DELIVERED}
    assert gateway.state.stats()["duplicates"] == 0
