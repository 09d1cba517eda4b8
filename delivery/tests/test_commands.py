"""The demo commands: simulate_bank builds events the contract accepts, and waits out refusals instead of exiting."""

from __future__ import annotations

import io
import json
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command

from delivery.management.commands.simulate_bank import realistic_event
from delivery.models import PartnerEvent
from delivery.payloads import event_validate
from delivery.tests.factories import consenting


def test_simulated_events_pass_the_contract() -> None:
    rng = random.Random(5)
    consent = {
        "link": 7,
        "account_ref": "sim-0123abcd",
        "message_types": ["balance_update", "fraud_alert", "receipt", "shipping_update"],
    }
    for _ in range(40):
        event = realistic_event(consent, rng)
        assert event is not None
        assert event_validate(event).link_id == 7
    assert realistic_event({"link": 7, "account_ref": "x", "message_types": ["chat_reply"]}, rng) is None


@pytest.mark.django_db(transaction=True)
def test_simulate_bank_posts_through_the_api_and_every_event_is_accepted(live_server: Any) -> None:
    c = consenting()
    out = io.StringIO()
    call_command(
        "simulate_bank", url=live_server.url, key=c.api_key, interval=0, batches=2, size=40, stdout=out, stderr=out
    )
    assert out.getvalue().count("Posted 40: 40 accepted, 0 refused.") == 2, out.getvalue()
    events = PartnerEvent.objects.filter(partner=c.bank)
    assert events.count() == 80
    # Every update is its own (no two payloads alike), and masks are the linked account's own.
    payloads = [json.dumps(event.payload, sort_keys=True) for event in events]
    assert len(set(payloads)) == 80
    masks = {event.payload["account_mask"] for event in events if "account_mask" in event.payload}
    assert masks <= {c.link.account_mask}, (masks, c.link.account_mask)


def test_the_simulated_banks_mask_is_the_one_it_showed_when_linking() -> None:
    from consent.simulator import simulated_account_mask

    assert simulated_account_mask("sim-0000270f" + "0" * 16) == "•••• 9999"
    assert simulated_account_mask("bank-ref-42") == simulated_account_mask("bank-ref-42")


class _ScriptedPortal(ThreadingHTTPServer):
    """A stand-in for the portal's API on loopback that answers from a script, then normally."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self.script, self.seen = script, []  # type: list[tuple[int, dict[str, str]]], list[tuple[str, float]]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: _ScriptedPortal

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", "Content-Length": str(len(raw)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self, normal: dict[str, Any]) -> None:
        self.server.seen.append((f"{self.command} {self.path.split('?')[0]}", time.monotonic()))
        if self.server.script:
            status, headers = self.server.script.pop(0)
            self._reply(status, {"error": {"code": "rate_limited", "message": "Slow down."}}, headers)
        else:
            self._reply(200, normal, {})

    def do_GET(self) -> None:
        self._handle({"results": [{"link": 7, "account_ref": "sim-00000007", "message_types": ["receipt"]}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        events = json.loads(self.rfile.read(length))["events"]
        self._handle({"accepted": len(events), "refused": 0, "results": []})


@pytest.fixture
def scripted_portal(request: pytest.FixtureRequest) -> Iterator[_ScriptedPortal]:
    server = _ScriptedPortal(list(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("scripted_portal", [[(429, {"Retry-After": "1"})]], indirect=True)
def test_simulate_bank_waits_as_a_429s_retry_after_says_then_goes_on(scripted_portal: _ScriptedPortal) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("simulate_bank", url=scripted_portal.url, interval=0, batches=1, stdout=out, stderr=err)
    assert "rate limit for this key is reached; trying again in 1 s" in err.getvalue()
    assert "Posted 3: 3 accepted, 0 refused." in out.getvalue()
    (first, refused_at), (second, retried_at), (post, _) = scripted_portal.seen
    assert first == second == "GET /api/v1/consents/"
    assert post == "POST /api/v1/events/"
    assert retried_at - refused_at >= 1.0


@pytest.mark.parametrize("scripted_portal", [[(503, {}), (401, {}), (429, {})]], indirect=True)
def test_simulate_bank_backs_off_after_refusals_instead_of_exiting(scripted_portal: _ScriptedPortal) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("simulate_bank", url=scripted_portal.url, interval=0.01, batches=1, stdout=out, stderr=err)
    assert "The API answered 503" in err.getvalue()
    assert "The API answered 401 (Slow down.)" in err.getvalue()
    assert "Posted 3: 3 accepted" in out.getvalue()
    assert len(scripted_portal.seen) == 5
