"""A small messenger-gateway (and webhook) receiver on 127.0.0.1 for the demo and the tests.

It verifies the Standard Webhooks signature, dedupes on the `webhook-id` header (our delivery id),
and can be told to fail, slow down or ask for a retry, so fault tests have a real peer.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .signing import SignatureError, verify


@dataclass
class ReceiverState:
    """What the receiver has seen and how it should misbehave next."""

    secret: str
    messages: dict[str, Any] = field(default_factory=dict)  # webhook-id (or item id) → body, first copy only
    order: list[str] = field(default_factory=list)
    received_at: dict[str, float] = field(default_factory=dict)  # id → time.time() of its first copy
    duplicates: int = 0
    rejected: int = 0
    fail_next: int = 0  # answer 503 to this many requests
    fail_status: int = 503
    retry_after: str | None = None
    delay_seconds: float = 0.0
    arrivals: int = 0  # POSTs that came in, counted before any delay (a sender is mid-send while it waits)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stats(self) -> dict[str, int]:
        """Return counts a test or the demo can compare."""
        with self.lock:
            return {"unique": len(self.messages), "duplicates": self.duplicates, "rejected": self.rejected}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stats instead
        return

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/stats":
            self._answer(200, state.stats())
        elif self.path == "/messages":
            with state.lock:
                self._answer(200, {"messages": [state.messages[key] for key in state.order]})
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with state.lock:
            state.arrivals += 1
        if state.delay_seconds:
            time.sleep(state.delay_seconds)
        with state.lock:
            if state.fail_next > 0:
                state.fail_next -= 1
                headers = {"Retry-After": state.retry_after} if state.retry_after else {}
                self._answer(state.fail_status, {"error": "try again"}, headers)
                return
        try:
            msg_id = verify(state.secret, dict(self.headers.items()), body)
        except SignatureError as exc:
            with state.lock:
                state.rejected += 1
            self._answer(401, {"error": str(exc)})
            return
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            self._answer(400, {"error": "body is not JSON"})
            return
        # A batch is a JSON list; each item is deduped on its own `id` (the delivery id).
        items = (
            [(str(item.get("id")), item) for item in document if isinstance(item, dict)]
            if isinstance(document, list)
            else [(msg_id, document)]
        )
        with state.lock:
            now = time.time()
            for key, item in items:
                if key in state.messages:
                    state.duplicates += 1
                else:
                    state.messages[key] = item
                    state.order.append(key)
                    state.received_at[key] = now
        self._answer(200, {"received": [key for key, _item in items] if isinstance(document, list) else msg_id})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: ReceiverState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class GatewayReceiver:
    """Run the receiver in a background thread: `with GatewayReceiver(secret) as gw: gw.url`."""

    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = ReceiverState(secret=secret)
        self._server = _Server((host, port), self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway-receiver", daemon=True)

    @property
    def url(self) -> str:
        """Return the address to POST messages to."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/messages"

    def start(self) -> GatewayReceiver:
        """Start serving; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the management command)."""
        self._server.serve_forever()

    def __enter__(self) -> GatewayReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
