"""A conversation end to end with a real worker: the person writes, the worker posts the signed chat.message
to a real bot on 127.0.0.1, the bot replies through the live API, and the reply is in the conversation."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conftest import wait_for
from delivery.chat.models import BotMessage, ChatMessage
from delivery.demo_gateway import GatewayReceiver
from delivery.tests.chatting import BOT_URL, AnsweringBot, bot_receiver, chat_bank, chatting
from portal.tests.signing_in import sign_in_verified

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_message_reaches_the_bot_through_the_worker_once(
    celery_worker_process: Any, bot_server: GatewayReceiver, client: Client
) -> None:
    c = chatting(BOT_URL)
    bot = bot_receiver(c.bot, bot_server)
    sign_in_verified(client, c.user)
    assert client.post(f"/me/chat/{c.bank.slug}/send/", {"text": "Where is the nearest ATM?"}).status_code == 302
    wait_for(lambda: len(bot.state.messages) == 1)
    [body] = bot.state.messages.values()
    assert body["type"] == "chat.message"
    assert body["data"]["message"]["text"] == "Where is the nearest ATM?"
    wait_for(lambda: BotMessage.objects.filter(status="delivered").exists())
    assert bot.state.stats() == {"unique": 1, "duplicates": 0, "rejected": 0}


def test_the_bot_answers_through_the_live_api_and_the_reply_shows(
    celery_worker_process: Any, live_server: Any, client: Client
) -> None:
    with AnsweringBot(api_base=live_server.url, api_key="") as answering:
        bank, bot = chat_bank(answering.url)
        c = chatting(answering.url, bank=bank)
        answering.secret, answering.api_key = bot.signing_secret, c.api_key
        sign_in_verified(client, c.user)
        client.post(f"/me/chat/{c.bank.slug}/send/", {"text": "What's my balance?"})
        reply = wait_for(lambda: ChatMessage.objects.filter(sender="bank").first())
    assert answering.replies == [202]
    assert reply.card["balance"] == "1234.50"
    assert "Your balance is 1234.50 GBP." in client.get(f"/me/chat/{c.bank.slug}/").content.decode()
