"""`manage.py demo_bot`: the demo bank's chatbot on 127.0.0.1, answering through the public API only."""

from __future__ import annotations

import time
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand

from delivery.demo_bot import DemoBot
from portal.management.commands.seed_demo import DEMO_API_KEY


class Command(BaseCommand):
    help = (
        "Run the demo bank's chatbot: it registers its address on the bank's published capabilities through "
        "the API, verifies each signed chat.message, and replies with chat_reply events through the API."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=settings.PORTAL_SITE_URL, help="Where the portal serves the API.")
        parser.add_argument("--key", default=DEMO_API_KEY, help="The bank's API key (default: the demo bank's).")
        parser.add_argument("--port", type=int, default=8026, help="The bot's port on 127.0.0.1.")

    def handle(self, *args: Any, **options: Any) -> None:
        bot = DemoBot(api_base=options["url"], api_key=options["key"], port=options["port"])
        for attempt in range(60):  # the web process may still be starting under `make run`
            try:
                codes = bot.register()
                break
            except httpx.HTTPError as exc:
                if attempt == 59:
                    raise
                self.stderr.write(f"The portal at {options['url']} does not answer yet ({exc}); trying again.")
                time.sleep(2)
        self.stdout.write(f"Demo bot on {bot.url} for capabilities: {', '.join(codes) or 'none published'}.")
        try:
            bot.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            bot.stop()
