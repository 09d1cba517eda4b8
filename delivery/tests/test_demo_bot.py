"""The demo bank's bot: every answer keeps to the event contract, and it works end to end through the live API."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import wait_for
from delivery.chat.models import BotMessage, ChatMessage
from delivery.chat.sending import bot_message_send
from delivery.chat.services import chat_send
from delivery.demo_bot import DemoBot, answer_for, fraud_answer_reply
from delivery.payloads import event_validate
from delivery.tests.chatting import chat_bank, chatting, free_port
from partners.services import capability_update


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("What's my balance?", "balance"),
        ("Where is the nearest ATM to King's Cross?", "places"),
        ("How much did I spend on coffee last month?", "chart"),
        ("I'm locked out of my account", None),
        ("That payment wasn't me", None),
        ("Tell me a joke", None),
    ],
)
def test_each_answer_is_a_valid_chat_reply(text: str, kind: str | None) -> None:
    payload = answer_for(text, account_ref="sim-abc", account_mask="•••• 1234")
    valid = event_validate({"type": "chat_reply", "link": 1, "payload": {"in_reply_to": 1, **payload}})
    assert (valid.payload["card"] or {}).get("kind") == kind
    for answer in ("was_me", "not_me"):
        event_validate({"type": "chat_reply", "link": 1, "payload": {"in_reply_to": 1, **fraud_answer_reply(answer)}})


def test_the_nearest_atm_is_near_the_place_asked_about() -> None:
    places = answer_for("atm near waterloo", account_ref="r", account_mask="•••• 1")["card"]["places"]
    assert [place["name"] for place in places] == ["Demo Bank, Waterloo"]


@pytest.mark.django_db(transaction=True)
def test_the_demo_bot_registers_through_the_api_and_answers_a_balance_question(live_server: Any) -> None:
    bank, bot = chat_bank("")
    capability_update(capability=bot, actor=None, webhook_url="")  # the bot points it at itself
    c = chatting("", bank=bank)
    with DemoBot(api_base=live_server.url, api_key=c.api_key, port=free_port()) as demo:
        assert demo.register() == ["ask_anything"]
        bot.refresh_from_db()
        assert bot.webhook_url == demo.url
        message = chat_send(user=c.user, partner=bank, text="What's my balance?")
        # Sent here, or by a worker of the session that took the row first: either way once.
        assert bot_message_send(message_id=BotMessage.objects.get().pk) in ("delivered", "skipped")
        wait_for(lambda: BotMessage.objects.filter(status="delivered").exists())
        answer = wait_for(lambda: ChatMessage.objects.filter(sender="bank").first())
    assert demo.replied == [202]
    assert answer.in_reply_to_id == message.pk
    assert answer.card["kind"] == "balance"
    assert answer.text.startswith("Your balance on •••• ")
