"""The demo bank's chatbot, written as a bank would write one: signed webhooks in, the public API out.

It reads its capabilities (and their signing secrets) through `GET /api/v1/capabilities/`, points
their `webhook_url` at itself if they have none, verifies every `chat.message` and
`fraud_alert.answered` with Standard Webhooks, answers 200 at once, and replies with a `chat_reply`
event through `POST /api/v1/events/`. Nothing here imports the portal's models or services: banks
can copy it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from .signing import SignatureError, verify

logger = logging.getLogger(__name__)

SUGGESTIONS = ["What's my balance?", "I'm locked out", "Nearest ATM to King's Cross", "Coffee last month"]
# The bank's own small table of cash machines (a demo dataset: name, address, area words, metres).
ATMS = [
    ("Demo Bank, King's Cross", "1 Euston Road, London N1", ("king's cross", "kings cross", "euston"), 120),
    ("Demo Bank, St Pancras", "Pancras Road, London NW1", ("king's cross", "kings cross", "st pancras"), 350),
    ("Demo Bank, Angel", "12 Upper Street, London N1", ("angel", "islington"), 200),
    ("Demo Bank, Waterloo", "Waterloo Station, London SE1", ("waterloo", "south bank"), 90),
    ("Demo Bank, Manchester Piccadilly", "Station Approach, Manchester M1", ("manchester", "piccadilly"), 150),
]


def balance_of(account_ref: str) -> str:
    """Return the demo bank's balance of its account `account_ref` (stable, as a core system would answer)."""
    pence = int(hashlib.sha256(account_ref.encode()).hexdigest()[:8], 16) % 500_000 + 1_000
    return f"{pence // 100}.{pence % 100:02d}"


def answer_for(text: str, *, account_ref: str, account_mask: str) -> dict[str, Any]:
    """Return the reply payload (without `in_reply_to`) to what the person wrote."""
    said = text.lower()
    if re.search(r"balance|how much can i spend|money left", said):
        balance = balance_of(account_ref)
        return {
            "text": f"Your balance on {account_mask} is {balance} GBP.",
            "card": {"kind": "balance", "account_mask": account_mask, "balance": balance, "currency": "GBP"},
            "suggestions": ["Coffee last month", "Freeze my card"],
        }
    if re.search(r"fraud|wasn.?t me|not me|freeze|stolen|lost my card", said):
        return {
            "text": f"I froze the card on {account_mask} and opened a fraud case. Nothing more can be paid with it; "
            "a new card is on its way. Reply “unfreeze” if you find it.",
            "suggestions": ["What's my balance?"],
        }
    if re.search(r"locked out|password|sign in|log ?in|can.?t get in", said):
        return {
            "text": "Locked out? 1. Open the Demo Bank app and tap “Forgot details”. 2. Confirm with the code we "
            "text you. 3. Choose a new passcode. Or reset it here: https://bank.example/reset",
            "suggestions": ["What's my balance?"],
        }
    if re.search(r"\batm\b|cash machine|cashpoint", said):
        near = [atm for atm in ATMS if any(word in said for word in atm[2])] or ATMS[:3]
        return {
            "text": f"The nearest cash machines: {near[0][0]} is closest.",
            "card": {"kind": "places", "title": "Cash machines", "places": [
                {"name": name, "address": address, "distance_m": metres} for name, address, _words, metres in near
            ]},
        }  # fmt: skip
    if re.search(r"coffee|spend|spent", said):
        weeks = [("Week 1", "8.40"), ("Week 2", "11.20"), ("Week 3", "5.60"), ("Week 4", "9.80")]
        return {
            "text": "You spent 35.00 GBP on coffee last month.",
            "card": {"kind": "chart", "title": "Coffee last month", "currency": "GBP", "total": "35.00",
                     "points": [{"label": label, "value": value} for label, value in weeks]},
        }  # fmt: skip
    return {"text": "I can tell you your balance, freeze a card, help when you are locked out, find an ATM, "
            "or sum up your spending.", "suggestions": SUGGESTIONS}  # fmt: skip


def fraud_answer_reply(answer: str) -> dict[str, Any]:
    """Return the reply payload to a person's answer to a fraud alert."""
    if answer == "not_me":
        return {
            "text": "Thank you. We froze your card and stopped the payment; a new card is on its way.",
            "suggestions": ["What's my balance?"],
        }
    return {"text": "Thanks for confirming. The payment stands and your card stays as it is."}


class DemoBot:
    """The bot's HTTP server and its API client: `with DemoBot(api_base, api_key, port=8026) as bot: ...`."""

    def __init__(self, *, api_base: str, api_key: str, host: str = "127.0.0.1", port: int = 8026) -> None:
        self.api = httpx.Client(
            base_url=api_base.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=10
        )
        self.secrets: list[str] = []
        self.replied: list[int] = []  # the API's status for each reply, newest last
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not any(_verified(secret, dict(self.headers.items()), body) for secret in bot.secrets):
                    self.send_response(401)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()
                threading.Thread(target=bot.handle, args=(json.loads(body),), daemon=True).start()

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-bot", daemon=True)

    @property
    def url(self) -> str:
        """Return the address the bank's capabilities point at."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/chat"

    def register(self) -> list[str]:
        """Read the bank's capabilities and their secrets; point those without a bot here. Return their codes."""
        capabilities = self.api.get("/api/v1/capabilities/", params={"page_size": 100}).raise_for_status().json()
        codes = []
        for capability in capabilities["results"]:
            if capability["status"] != "published":
                continue
            if not capability.get("webhook_url"):
                self.api.patch(f"/api/v1/capabilities/{capability['code']}/", json={"webhook_url": self.url})
            self.secrets.append(capability["signing_secret"])
            codes.append(capability["code"])
        return codes

    def _account(self, link: int) -> tuple[str, str]:
        """Return the bank's reference and mask of the account behind `link` (from the grants it holds)."""
        consents = (
            self.api.get("/api/v1/consents/", params={"link": link, "status": "active"}).json().get("results", [])
        )
        ref = consents[0].get("account_ref", f"link-{link}") if consents else f"link-{link}"
        from consent.simulator import simulated_account_mask  # the demo bank's own numbering of its accounts

        return ref, simulated_account_mask(ref)

    def handle(self, webhook: dict[str, Any], post: Callable[..., httpx.Response] | None = None) -> None:
        """Answer one webhook with a `chat_reply` through the public API."""
        data = webhook.get("data", {})
        message, link = data.get("message", {}), data.get("link")
        if webhook.get("type") == "fraud_alert.answered":
            payload = fraud_answer_reply(str(data.get("answer")))
        else:
            ref, mask = self._account(int(link))
            payload = answer_for(str(message.get("text", "")), account_ref=ref, account_mask=mask)
        event = {"type": "chat_reply", "link": link, "event_id": f"bot-reply-{message.get('id')}",
                 "payload": {"in_reply_to": message.get("id"), **payload}}  # fmt: skip
        response = (post or self.api.post)("/api/v1/events/", json=event)
        self.replied.append(response.status_code)
        if response.status_code >= 300:
            logger.warning("The portal refused the reply: %s", response.text[:300])

    def start(self) -> DemoBot:
        """Start serving in a background thread; return self."""
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the management command)."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket and the API client."""
        self._server.shutdown()
        self._server.server_close()
        self.api.close()

    def __enter__(self) -> DemoBot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        verify(secret, headers, body)
    except SignatureError:
        return False
    return True
