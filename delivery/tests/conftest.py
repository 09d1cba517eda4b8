"""Delivery test fixtures: a gateway receiver on a fixed loopback port that the worker process also uses,
and a Redis of a test's own that it may stop and start."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from delivery.demo_gateway import GatewayReceiver


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Set before any worker process starts (workers copy the environment), so they post to this receiver.
GATEWAY_SECRET = "whsec_" + base64.b64encode(b"delivery-tests-gateway-secret-32b").decode()
GATEWAY_PORT = _free_port()
os.environ["PORTAL_GATEWAY_URL"] = f"http://127.0.0.1:{GATEWAY_PORT}/messages"
os.environ["PORTAL_GATEWAY_SECRET"] = GATEWAY_SECRET


@pytest.fixture(scope="session")
def gateway_server() -> Iterator[GatewayReceiver]:
    with GatewayReceiver(GATEWAY_SECRET, port=GATEWAY_PORT) as receiver:
        yield receiver


@pytest.fixture
def gateway(gateway_server: GatewayReceiver, settings: Any) -> GatewayReceiver:
    """Return the receiver, emptied and well-behaved, with this process's settings pointing at it."""
    state = gateway_server.state
    with state.lock:
        state.messages.clear()
        state.order.clear()
        state.received_at.clear()
        state.duplicates = state.rejected = state.fail_next = state.arrivals = 0
        state.fail_status, state.retry_after, state.delay_seconds = 503, None, 0.0
    settings.PORTAL_GATEWAY_URL = os.environ["PORTAL_GATEWAY_URL"]
    settings.PORTAL_GATEWAY_SECRET = GATEWAY_SECRET
    return gateway_server


class PrivateRedis:
    """A `redis-server` on a free loopback port, keeping nothing on disk, that a test may kill and restart."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the broker URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        """Start the server and return once it answers."""
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")

    def kill(self) -> None:
        """Stop the server at once, as a crash would (what it held is gone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """Yield a running Redis of this test's own; it is killed afterwards."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed; the broker-restart test needs it (Debian: redis-server).")
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def bot_server() -> Iterator[GatewayReceiver]:
    """Yield the loopback receiver a bank's chatbot capability points at (delivery.tests.chatting.BOT_URL)."""
    from delivery.tests.chatting import BOT_PORT

    with GatewayReceiver("whsec_" + "A" * 44, port=BOT_PORT) as receiver:
        yield receiver
