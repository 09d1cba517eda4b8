"""Probes of the gaps KNOWN_UNAUDITED lets through: each shows its gap is still open, and fails once it is closed.

When one of these fails because the service now appends its entry, delete the probe and its line
in KNOWN_UNAUDITED (compliance/testing/audit_coverage.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from compliance.testing.audit_coverage import known_gap, tracker, unexplained
from delivery import services
from delivery.models import Delivery, PartnerEvent, WebhookMessage
from delivery.tests.factories import balance_event, consenting
from partners.models import WebhookEndpoint
from partners.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


class _Gone(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(410)  # permanent: webhook_send gives up at once
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def gone_url() -> Iterator[str]:
    """Yield the address of a loopback endpoint that answers every webhook 410 Gone."""
    server = HTTPServer(("127.0.0.1", 0), _Gone)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()
    server.server_close()


def known_gaps_seen() -> set[tuple[str, str] | None]:
    """Return the KNOWN_UNAUDITED keys of what the check found so far in this test (None: a new gap)."""
    found = tracker.take()
    unexplained(found)  # counts the known ones, for the run's summary
    return {known_gap(item.change) for item in found}


def test_a_delivery_that_becomes_a_dead_letter_is_not_audited() -> None:
    c = consenting()  # a bank with no endpoint for delivery.failed, so no webhook entry hides the gap
    services.event_intake(
        partner=c.bank, events=[balance_event(c.link.pk, event_id="probe")], idempotency_key=None, actor=None
    )
    PartnerEvent.objects.update(payload={"balance": None})  # cannot be rendered: a dead letter at once
    tracker.take()

    services.delivery_send_batch(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))

    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DEAD}
    assert known_gaps_seen() == {("delivery.Delivery", "delivery.services.mark_dead")}


def test_a_webhook_given_up_on_is_not_audited(gone_url: str) -> None:
    c = consenting()
    webhook_endpoint_create(
        partner=c.bank, url="https://bank.example/hooks", event_types=["consent.revoked"], actor=None
    )
    WebhookEndpoint.objects.update(url=gone_url)  # a loopback address, which the service would refuse to store
    [message] = services.webhook_notify(partner_id=c.bank.pk, event_type="consent.revoked", data={})
    tracker.take()

    assert services.webhook_send(message_id=message.pk) == "dead"

    assert WebhookMessage.objects.get().status == WebhookMessage.Status.DEAD
    assert known_gaps_seen() == {("delivery.WebhookMessage", "delivery.services.webhook_send")}
