"""Connect time: the one place that posts resolves and checks the address itself, follows no redirect,
and reads at most a bounded part of the answer."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from delivery import outbound, services
from delivery.demo_gateway import GatewayReceiver
from delivery.models import WebhookAttempt
from delivery.outbound import post_signed
from delivery.tests.factories import consenting
from partners.services import webhook_endpoint_create
from portal import outbound_guard
from portal.outbound_guard import StaticResolver

BIG = 32 * 1024 * 1024  # what the misbehaving receiver offers to send: more than socket buffers hold


class _Receiver(ThreadingHTTPServer):
    """A loopback peer that records each request and its Host header, and can redirect or answer at length."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str]] = []
        self.big_sent = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.path, self.headers.get("Host", "")))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.port}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"x" * BIG if self.path == "/big" else b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for start in range(0, len(body), 65536):
                self.wfile.write(body[start : start + 65536])
                self.server.big_sent = start + 65536
        except OSError:
            return  # the platform hung up after reading what it keeps


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fresh_client(monkeypatch: Any) -> None:
    # Each test gets its own pool, so no connection checked in another test is reused.
    monkeypatch.setattr(outbound, "_client", None)


def _post(url: str) -> outbound.PostResult:
    return post_signed(url=url, secrets=["whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS1ndWFyZA=="], msg_id="msg_1", body={"a": 1})


def test_a_name_is_connected_at_its_checked_address_with_its_own_host_header(
    receiver: _Receiver, monkeypatch: Any
) -> None:
    monkeypatch.setattr(outbound_guard, "resolver", StaticResolver({"hooks.bank.test": ["127.0.0.1"]}))
    result = _post(f"http://hooks.bank.test:{receiver.port}/ok")
    assert result.ok, result.error
    assert receiver.seen == [("/ok", f"hooks.bank.test:{receiver.port}")]


@pytest.mark.parametrize(("address", "kind"), [("10.0.0.5", "private"), ("169.254.169.254", "link-local")])
def test_a_name_rebound_to_a_private_address_fails_without_connecting(
    receiver: _Receiver, monkeypatch: Any, address: str, kind: str
) -> None:
    monkeypatch.setattr(outbound_guard, "resolver", StaticResolver({"hooks.bank.test": [address]}))
    result = _post(f"http://hooks.bank.test:{receiver.port}/ok")
    assert result.status_code is None
    assert f"unsafe_url: hooks.bank.test resolves to {address}, which is a {kind} address" in result.error
    assert receiver.seen == []


def test_under_the_production_rule_loopback_is_refused_at_connect_time(receiver: _Receiver, settings: Any) -> None:
    settings.PORTAL_ALLOW_INSECURE_OUTBOUND = False
    result = _post(f"http://127.0.0.1:{receiver.port}/ok")
    assert "unsafe_url: 127.0.0.1 a loopback address" in result.error
    assert receiver.seen == []


@pytest.mark.django_db
def test_a_webhook_whose_name_resolved_public_when_saved_and_private_at_send_is_a_failed_attempt(
    gateway: GatewayReceiver, monkeypatch: Any
) -> None:
    c = consenting()
    monkeypatch.setattr(outbound_guard, "resolver", StaticResolver({"hooks.bank.test": ["93.184.215.14"]}))
    endpoint, _secret = webhook_endpoint_create(
        partner=c.bank,
        url=f"http://hooks.bank.test:{gateway.url.split(':')[2]}",
        event_types=["consent.revoked"],
        actor=None,
    )
    type(endpoint).objects.filter(pk=endpoint.pk).update(secret=gateway.state.secret)
    [message] = services.webhook_notify(partner_id=c.bank.pk, event_type="consent.revoked", data={"link": 1})
    # DNS rebinding: the same name now answers with the cloud metadata address.
    monkeypatch.setattr(outbound_guard, "resolver", StaticResolver({"hooks.bank.test": ["169.254.169.254"]}))
    assert services.webhook_send(message_id=message.pk) == "retrying"
    attempt = WebhookAttempt.objects.get(message=message)
    assert not attempt.succeeded
    assert attempt.status_code is None
    assert "unsafe_url" in attempt.error
    assert "169.254.169.254, which is a link-local address" in attempt.error
    assert gateway.state.arrivals == 0


def test_redirects_are_not_followed(receiver: _Receiver) -> None:
    result = _post(f"http://127.0.0.1:{receiver.port}/redirect")
    assert result.status_code == 302
    assert not result.ok
    assert [path for path, _host in receiver.seen] == ["/redirect"]


def test_an_oversized_answer_is_cut(receiver: _Receiver, settings: Any) -> None:
    result = _post(f"http://127.0.0.1:{receiver.port}/big")
    assert result.ok
    assert len(result.excerpt) == outbound.EXCERPT
    # The platform stopped reading long before the receiver got its 32 MB out.
    assert receiver.big_sent < BIG
    assert settings.PORTAL_OUTBOUND_MAX_RESPONSE_BYTES == 64 * 1024


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """Make a test CA and a certificate for hooks.bank.test signed by it; return (ca, cert, key)."""
    ca, ca_key, cert, key, csr, ext = (
        folder / n for n in ("ca.pem", "ca.key", "leaf.pem", "leaf.key", "leaf.csr", "ext")
    )
    ext.write_text("subjectAltName=DNS:hooks.bank.test\n")
    for command in (
        f"req -x509 -newkey rsa:2048 -nodes -keyout {ca_key} -out {ca} -days 1 -subj /CN=Test-CA"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
        f"req -newkey rsa:2048 -nodes -keyout {key} -out {csr} -subj /CN=hooks.bank.test",
        f"x509 -req -in {csr} -CA {ca} -CAkey {ca_key} -CAcreateserial -out {cert} -days 1 -extfile {ext}",
    ):
        subprocess.run(["openssl", *command.split()], check=True, capture_output=True, timeout=60)
    return ca, cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make certificates")
def test_tls_names_and_verifies_the_host_while_connecting_to_the_checked_address(
    receiver: _Receiver, monkeypatch: Any, tmp_path: Path
) -> None:
    ca, cert, key = _certificates(tmp_path)
    server_names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)  # type: ignore[assignment,misc]
    receiver.socket = context.wrap_socket(receiver.socket, server_side=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    monkeypatch.setattr(
        outbound_guard, "resolver", StaticResolver({"hooks.bank.test": ["127.0.0.1"], "other.bank.test": ["127.0.0.1"]})
    )
    result = _post(f"https://hooks.bank.test:{receiver.port}/ok")
    assert result.ok, result.error
    assert server_names == ["hooks.bank.test"]
    assert receiver.seen == [("/ok", f"hooks.bank.test:{receiver.port}")]
    # The same address under a name the certificate does not cover: verification fails, nothing is sent.
    refused = _post(f"https://other.bank.test:{receiver.port}/ok")
    assert refused.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in refused.error
    assert len(receiver.seen) == 1
