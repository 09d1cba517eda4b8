"""`manage.py demo_gateway`: the demo's messenger gateway on 127.0.0.1, verifying and deduping deliveries."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand

from delivery.demo_gateway import GatewayReceiver

# The longest wait between two tries to open the port.
MAX_PAUSE = 60.0


class Command(BaseCommand):
    help = (
        "Serve the demo messenger gateway at PORTAL_GATEWAY_URL (loopback only) until Ctrl-C. It never exits "
        "on its own (honcho would stop all of `make run` with it): when misconfigured it says so and idles, "
        "and when the port is taken it tries again with backoff."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with suppress(KeyboardInterrupt):
            problem = self._misconfiguration()
            if problem:
                self.stderr.write(f"The demo gateway is off: {problem} Deliveries to it fail and are retried.")
                while True:
                    time.sleep(3600)
            self._serve(urlparse(settings.PORTAL_GATEWAY_URL).port or 80)

    def _misconfiguration(self) -> str:
        """Return what keeps the demo gateway from serving, or "" when nothing does."""
        if not settings.PORTAL_GATEWAY_URL or not settings.PORTAL_GATEWAY_SECRET:
            return "set PORTAL_GATEWAY_URL (http://127.0.0.1:<port>/messages) and PORTAL_GATEWAY_SECRET."
        if urlparse(settings.PORTAL_GATEWAY_URL).hostname not in ("127.0.0.1", "localhost"):
            return "it listens on loopback only: use http://127.0.0.1:<port>/messages."
        return ""

    def _serve(self, port: int) -> None:
        pause = 1.0
        while True:
            try:
                receiver = GatewayReceiver(settings.PORTAL_GATEWAY_SECRET, port=port)
            except OSError as exc:
                self.stderr.write(
                    f"The demo gateway cannot listen on port {port} ({exc}); trying again in {pause:.0f} s."
                )
                time.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)
                continue
            self.stdout.write(f"Gateway receiver on {receiver.url} (GET /stats, GET /messages).")
            receiver.serve_forever()
            return
