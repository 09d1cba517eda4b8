"""Delivery test fixtures: a gateway receiver on a fixed loopback port that the worker process also uses."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from delivery.receiver import GatewayReceiver


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
