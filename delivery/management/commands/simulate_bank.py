"""`manage.py simulate_bank`: the demo bank posts realistic events through the public API, for people who consented."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand

from consent.simulator import simulated_account_mask
from delivery.backoff import parse_retry_after
from delivery.payloads import SHIPPING_STATUSES
from portal.management.commands.seed_demo import DEMO_API_KEY

MERCHANTS = ["Corner Grocer", "Rail Tickets Ltd", "Book Nook", "Coffee Cart", "City Pharmacy", "Hardware Hut"]
CARRIERS = ["Royal Post", "ParcelGo", "QuickShip"]
SHIPPING = [status for status in SHIPPING_STATUSES if status != "exception"]  # the everyday ones


def _now() -> str:
    return datetime.now(UTC).isoformat()


def realistic_event(consent: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """Return an event the consent allows, with plausible figures, or None when it allows none we simulate."""
    types = [
        t for t in consent["message_types"] if t in ("balance_update", "fraud_alert", "receipt", "shipping_update")
    ]
    if not types:
        return None
    kind = rng.choice(types)
    mask = simulated_account_mask(consent["account_ref"])
    money = Decimal(rng.randint(100, 250_000)) / 100
    payloads: dict[str, dict[str, Any]] = {
        "balance_update": {
            "account_mask": mask,
            "balance": str(money),
            "available": str(money - Decimal(rng.randint(0, 5000)) / 100),
            "currency": "GBP",
            "as_of": _now(),
        },
        "fraud_alert": {
            "account_mask": mask,
            "amount": str(Decimal(rng.randint(500, 90_000)) / 100),
            "currency": "GBP",
            "merchant": rng.choice(["Unknown Online Store", "Overseas Electronics", *MERCHANTS]),
            "occurred_at": _now(),
        },
        "receipt": {
            "merchant": rng.choice(MERCHANTS),
            "amount": str(Decimal(rng.randint(100, 9000)) / 100),
            "currency": "GBP",
            "items": [{"name": rng.choice(["Milk", "Bread", "Ticket", "Notebook"]), "quantity": 1, "amount": "1.20"}],
            "purchased_at": _now(),
        },
        "shipping_update": {
            "carrier": rng.choice(CARRIERS),
            "tracking_number": f"TRK{rng.randint(10**8, 10**9 - 1)}",
            "status": rng.choice(SHIPPING),
            "eta": (datetime.now(UTC) + timedelta(days=rng.randint(1, 4))).isoformat(),
        },
    }
    return {"event_id": f"sim-{uuid.uuid4().hex}", "type": kind, "link": consent["link"], "payload": payloads[kind]}


# The longest pause between tries, whatever the portal asks for: the demo keeps going.
MAX_PAUSE = 300.0


class Pause(Exception):
    """The portal cannot take events now: wait `seconds` (None: back off), say `reason`, then go on."""

    def __init__(self, reason: str, seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.seconds = reason, seconds


def _answer(response: httpx.Response) -> dict[str, Any]:
    """Return the API's JSON answer, or raise Pause for a 429 (honouring Retry-After) or any other refusal."""
    if response.status_code == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        raise Pause("The API's rate limit for this key is reached", wait)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or not isinstance(body, dict):
        message = body.get("error", {}).get("message", "") if isinstance(body, dict) else response.text[:200]
        raise Pause(f"The API answered {response.status_code} ({message or 'no details'})")
    return body


class Command(BaseCommand):
    help = (
        "Post realistic events as the demo bank, through the public API, for the people who consented. "
        "It never stops on errors (so `make run` keeps its other processes): it waits as a 429's "
        "Retry-After says, or backs off up to five minutes, and tries again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=settings.PORTAL_SITE_URL, help="Where the portal serves the API.")
        parser.add_argument("--key", default=DEMO_API_KEY, help="The bank's API key (default: the demo bank's).")
        parser.add_argument("--interval", type=float, default=10.0, help="Seconds between batches.")
        parser.add_argument("--batches", type=int, default=0, help="Stop after this many batches (0: never).")
        parser.add_argument("--size", type=int, default=3, help="Events per batch, at most 500.")

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["url"].rstrip("/")
        headers = {"Authorization": f"Bearer {options['key']}"}
        rng = random.Random()  # noqa: S311 - demo figures, not secrets
        sent = failures = 0
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            while not options["batches"] or sent < options["batches"]:
                try:
                    sent += self._one_batch(client, size=options["size"], rng=rng)
                except (Pause, httpx.HTTPError) as exc:
                    failures += 1
                    pause = exc if isinstance(exc, Pause) else Pause(f"The portal at {base} does not answer ({exc})")
                    wait = pause.seconds
                    if wait is None:  # no Retry-After: back off, doubling from the interval
                        wait = options["interval"] * 2 ** min(failures - 1, 8)
                    wait = min(max(wait, 0.0), MAX_PAUSE)
                    self.stderr.write(f"{pause.reason}; trying again in {wait:.0f} s.")
                    time.sleep(wait)
                    continue
                failures = 0
                time.sleep(options["interval"])

    def _one_batch(self, client: httpx.Client, *, size: int, rng: random.Random) -> int:
        """Post one batch of events for the active grants; return 1 when one was posted, else 0."""
        grants = _answer(client.get("/api/v1/consents/", params={"status": "active", "page_size": 500}))["results"]
        # A fresh event per pick, each with its own figures and id: never the same update twice.
        picks = [rng.choice(grants) for _ in range(min(size, 500))]
        batch = [e for e in (realistic_event(g, rng) for g in picks) if e is not None]
        if not batch:
            self.stdout.write("Nobody has granted the bank anything yet: link it as a person and grant a scope.")
            return 0
        body = _answer(client.post("/api/v1/events/", json={"events": batch}))
        codes = sorted({r["error"]["code"] for r in body.get("results", []) if r.get("error")})
        self.stdout.write(
            f"Posted {len(batch)}: {body.get('accepted', 0)} accepted, {body.get('refused', 0)} refused"
            + (f" ({', '.join(codes)})." if codes else ".")
        )
        return 1
