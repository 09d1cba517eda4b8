"""`manage.py demo_gateway`: the demo's messenger gateway on 127.0.0.1, verifying and deduping deliveries."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from delivery.demo_gateway import GatewayReceiver


class Command(BaseCommand):
    help = "Serve the demo messenger gateway at PORTAL_GATEWAY_URL (loopback only) until Ctrl-C."

    def handle(self, *args: Any, **options: Any) -> None:
        url = urlparse(settings.PORTAL_GATEWAY_URL or "")
        if not settings.PORTAL_GATEWAY_URL or not settings.PORTAL_GATEWAY_SECRET:
            raise CommandError("Set PORTAL_GATEWAY_URL (http://127.0.0.1:<port>/messages) and PORTAL_GATEWAY_SECRET.")
        if url.hostname not in ("127.0.0.1", "localhost"):
            raise CommandError("The demo gateway listens on loopback only: use http://127.0.0.1:<port>/messages.")
        receiver = GatewayReceiver(settings.PORTAL_GATEWAY_SECRET, port=url.port or 80)
        self.stdout.write(f"Gateway receiver on {receiver.url} (GET /stats, GET /messages).")
        with suppress(KeyboardInterrupt):
            receiver.serve_forever()
