"""In Chromium, as a person: they allow the bank's chatbot, write to it, and its reply appears without a reload.

The bot is a tiny HTTP server in the test that answers through the live server's partner API; a
real worker posts the signed chat.message to it. Screenshots at desktop width and at 390 px.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations
from delivery.tests.chatting import AnsweringBot, chat_bank, chatting
from portal.tests.signing_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_person_allows_the_chatbot_writes_and_the_reply_appears(
    page: Any, live_server: Any, celery_worker_process: Any
) -> None:
    with AnsweringBot(api_base=live_server.url, api_key="") as answering:
        bank, bot = chat_bank(answering.url)
        c = chatting(answering.url, bank=bank, allowed=False)
        answering.secret, answering.api_key = bot.signing_secret, c.api_key
        sign_in(page, c.user.email)
        page.goto(f"/me/chat/{c.bank.slug}/")
        expect(page.get_by_role("heading", name=f"Let {c.bank.legal_name}'s chatbot answer you?")).to_be_visible()
        allow = page.get_by_role("checkbox")
        expect(allow).not_to_be_checked()
        screenshot(page, "chat-01-offer")
        assert serious_accessibility_violations(page) == []
        allow.check()
        page.get_by_role("button", name="Allow and start chatting").click()
        expect(page.get_by_label(f"Your message to {c.bank.legal_name}")).to_be_visible()

        page.get_by_label(f"Your message to {c.bank.legal_name}").fill("What's my balance?")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator(".chat-message.from-person")).to_have_count(1)
        # No reload: the page's poll adds the bot's reply.
        expect(page.locator(".chat-message.from-bank")).to_contain_text("Your balance is 1234.50 GBP.", timeout=20_000)
        expect(page.locator(".chat-card-balance")).to_contain_text("•••• 4242")
        expect(page.locator(".chat-message.from-person .chat-state")).to_have_text("Delivered")
        expect(page.get_by_role("button", name="Spending this month")).to_be_visible()
        screenshot(page, "chat-02-reply")
        assert serious_accessibility_violations(page) == []
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(page.locator(".chat-message.from-bank")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "chat-03-reply-390")
    assert answering.replies == [202]
