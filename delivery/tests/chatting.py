"""Helpers for conversation tests: a bank with a chatbot on a loopback receiver, and a person who may chat."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from consent.models import AccountLink
from consent.tests.factories import grant_for, link_for
from delivery.demo_gateway import GatewayReceiver
from delivery.signing import SignatureError, verify
from delivery.tests.factories import published_balances_scope
from partners.models import ChatbotCapability, Partner
from partners.services import capability_create, capability_update
from partners.tests.factories import PartnerFactory, api_key_for
from portal.models import User
from portal.tests.factories import UserFactory

HELP_SCOPE = "customer_help.read"


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Chatting:
    """A live bank whose chatbot listens at `bot_url`, a person with a linked account, and the bank's key."""

    bank: Partner
    bot: ChatbotCapability
    user: User
    link: AccountLink
    api_key: str


def chat_bank(bot_url: str, **fields: Any) -> tuple[Partner, ChatbotCapability]:
    """Return a live bank offering customer-service chat and fraud alerts, with a published bot at `bot_url`."""
    bank = PartnerFactory(status=Partner.Status.LIVE, **fields)
    published_balances_scope(bank, code=HELP_SCOPE, purposes=["customer_service", "fraud_alerts"])
    bot = capability_create(
        partner=bank,
        code="ask_anything",
        actor=None,
        name="Ask us anything",
        description="Balances, lost cards, help signing in.",
        sample_utterances=["What's my balance?", "I lost my card"],
        scopes=[HELP_SCOPE],
        message_types=["chat_reply"],
        webhook_url=bot_url,
    )
    bot = capability_update(capability=bot, actor=None, status=ChatbotCapability.Status.PUBLISHED)
    return bank, bot


def chatting(bot_url: str, *, allowed: bool = True, bank: Partner | None = None) -> Chatting:
    """Return a person at a chat bank (new unless given); `allowed` grants customer service and fraud alerts."""
    if bank is None:
        bank, bot = chat_bank(bot_url)
    else:
        bot = ChatbotCapability.objects.get(partner=bank, code="ask_anything")
    user = UserFactory()
    link = link_for(user, bank)
    if allowed:
        scope = bank.scopes.get(code=HELP_SCOPE)
        grant_for(link, scope, purpose="customer_service")
        grant_for(link, scope, purpose="fraud_alerts")
    return Chatting(bank, bot, user, link, api_key_for(bank))


def reply(
    message_id: int, link_id: int, *, text: str = "Your balance is 12.30 GBP.", event_id: str = "", **extra: Any
) -> dict[str, Any]:
    """Return a `chat_reply` event as a bot posts it."""
    return {
        "type": "chat_reply",
        "link": link_id,
        "event_id": event_id or f"reply-{message_id}-{link_id}",
        "payload": {"in_reply_to": message_id, "text": text, **extra},
    }


def bot_receiver(bot: ChatbotCapability, receiver: GatewayReceiver) -> GatewayReceiver:
    """Point the loopback `receiver` at `bot`'s signing secret, emptied; return it."""
    state = receiver.state
    with state.lock:
        state.secret = bot.signing_secret
        state.messages.clear()
        state.order.clear()
        state.duplicates = state.rejected = state.fail_next = state.arrivals = 0
        state.fail_status, state.retry_after, state.delay_seconds = 503, None, 0.0
    return receiver


# The bot's receiver (the `bot_server` fixture in delivery/tests/conftest.py): the tests' real HTTP peer.
BOT_PORT = free_port()
BOT_URL = f"http://127.0.0.1:{BOT_PORT}/messages"


class AnsweringBot:
    """A bank's bot as a bank would write one, on 127.0.0.1: it verifies each signed `chat.message`, answers
    200 at once, then replies through the public API (`POST /api/v1/events/`) with the bank's key."""

    def __init__(self, *, api_base: str, api_key: str) -> None:
        self.api_base, self.api_key = api_base, api_key
        self.secret = ""
        self.received: list[dict[str, Any]] = []
        self.replies: list[int] = []  # HTTP statuses of its reply posts
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    verify(bot.secret, dict(self.headers.items()), body)
                except SignatureError:
                    self.send_response(401)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()
                webhook = json.loads(body)
                bot.received.append(webhook)
                threading.Thread(target=bot.answer, args=(webhook,), daemon=True).start()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the bot's webhook address."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/chat"

    def answer(self, webhook: dict[str, Any]) -> None:
        """Reply to one message: the balance, with a card and suggestions."""
        data = webhook["data"]
        card = {"kind": "balance", "account_mask": "•••• 4242", "balance": "1234.50", "currency": "GBP"}
        event = reply(
            data["message"]["id"],
            data["link"],
            text=f"You asked: “{data['message']['text']}”. Your balance is 1234.50 GBP.",
            card=card,
            suggestions=["Spending this month"],
        )
        response = httpx.post(
            f"{self.api_base}/api/v1/events/", json=event, headers={"Authorization": f"Bearer {self.api_key}"}
        )
        self.replies.append(response.status_code)

    def __enter__(self) -> AnsweringBot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
