"""What a delivery benchmark run stands on: the worker and its memory, the client processes, the phases' figures."""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """Stop the benchmark's worker and its pool processes (its own process group); safe to call twice."""
    if worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(5)


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _tree(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(c) for c in path.read_text().split()] if path.exists() else []
    return [pid, *children]


class RssWatch(threading.Thread):
    """Sample the worker's resident memory (main process plus pool) and keep the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_total, self.peak_process, self.running = pid, 0, 0, True

    def run(self) -> None:
        while self.running:
            sizes = [_rss_kib(p) for p in _tree(self.pid)]
            self.peak_total = max(self.peak_total, sum(sizes))
            self.peak_process = max(self.peak_process, max(sizes, default=0))
            time.sleep(0.2)


def start_worker(concurrency: int, port: int) -> subprocess.Popen[bytes]:
    """Start one Celery worker on both queues, its log in artifacts/, stopped at exit however the run ends."""
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = (ROOT / "artifacts" / "bench-worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "portal", "worker", "--queues", "fraud,default",
            "--concurrency", str(concurrency), "--pool", "prefork", "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--hostname", f"bench-{port}@%h",
        ],
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    # However the run ends (a refused warm-up included), the worker and its pool go with it: a stray
    # worker on the same broker would take the next run's tasks.
    atexit.register(_stop_worker, worker)
    return worker


# --- What each client process runs: spawned, so each has its own Django, database and broker connections.


def client_start(environ: dict[str, str]) -> None:
    """Set up Django in a client process, with the run's environment."""
    os.environ.update(environ)
    import django

    django.setup()


def publish_noops(first: int, count: int) -> None:
    """Publish no-op tasks `first` to `first + count` through one producer."""
    from delivery.tasks import noop

    with noop.app.producer_or_acquire() as producer:
        for index in range(first, first + count):
            noop.apply_async(args=(index,), producer=producer)


def _post_events(
    api_key: str, links: list[int], run: str, first: int, count: int, batch: int, rate: float | None
) -> None:
    """Post events `first` to `first + count` in batches, through the partner API (in-process WSGI)."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"authorization": f"Bearer {api_key}"}
    started, sent = time.monotonic(), 0
    while sent < count:
        if rate is not None:
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
        size = min(batch, count - sent)
        events = [
            {
                "event_id": f"{run}-{number}",
                "type": "balance_update",
                "link": links[number % len(links)],
                "payload": {
                    # A mask of its own per event (no supersession), never more than four digits.
                    "account_mask": "".join(chr(65 + int(d)) for d in str(number // 10_000))
                    + f" •••• {number % 10_000:04d}",
                    "balance": "1234.56",
                    "available": "1200.00",
                    "currency": "GBP",
                    "as_of": "2026-01-01T00:00:00Z",
                },
            }
            for number in range(first + sent, first + sent + size)
        ]
        answer = client.post("/api/v1/events/", {"events": events}, content_type="application/json", headers=headers)
        if answer.status_code != 207 or answer.json()["accepted"] != size:
            raise RuntimeError(f"intake refused: {answer.status_code} {answer.content[:300]!r}")
        sent += size


def client_shares(count: int, clients: int, batch: int) -> list[tuple[int, int]]:
    """Split `count` into contiguous (first, count) shares of whole batches, one per client."""
    batches = -(-count // batch)
    per_client = -(-batches // clients) * batch
    return [(first, min(per_client, count - first)) for first in range(0, count, per_client)]


@dataclass
class Phase:
    """What one phase measured: its seconds, intake's seconds, deliveries done and their latencies."""

    seconds: float
    intake_seconds: float
    delivered: int
    latencies: list[float]

    @property
    def p50(self) -> float:
        """Return the median seconds from intake to delivered."""
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        """Return the 99th percentile seconds from intake to delivered."""
        return self.latencies[int(0.99 * (len(self.latencies) - 1))]


@dataclass
class Rig:
    """What the phases run on: the bench bank and its people, the broker, the gateway, the worker and the clients."""

    args: argparse.Namespace
    bank: Any
    links: list[int]
    api_key: str
    rds: Any
    gateway: Any
    worker: subprocess.Popen[bytes]
    rss: RssWatch
    pool: ProcessPoolExecutor

    def drained(self) -> bool:
        """Return True when the broker holds no task, queued or unacknowledged."""
        rds = self.rds
        return rds.llen("default") == 0 and rds.llen("fraud") == 0 and rds.hlen("unacked") == 0

    def in_clients(self, work: Any, shares: list[tuple[Any, ...]], report: Any) -> float:
        """Run `work(*share)` for each share across the client processes; report progress; return seconds."""
        started = time.monotonic()
        futures = [self.pool.submit(work, *share) for share in shares]
        while not all(future.done() for future in futures):
            report()
            time.sleep(0.1)
        for future in futures:
            future.result()  # raises what a client raised
        return time.monotonic() - started

    def full_path(self, count: int, report: Any, *, batch: int = 500, rate: float | None = None) -> float:
        """Post `count` balance updates in batches from every client (at `rate` in all); return intake's seconds."""
        run = uuid.uuid4().hex[:8]
        shares = client_shares(count, self.args.clients, batch)
        each = None if rate is None else rate / len(shares)
        return self.in_clients(
            _post_events, [(self.api_key, self.links, run, first, size, batch, each) for first, size in shares], report
        )

    def measure(self, post: Any, count: int, show: Any, timeout: float) -> Phase:
        """Run `post`, wait until its deliveries are done, and return the phase's figures."""
        from delivery.models import Delivery

        first = Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        ours = Delivery.objects.filter(pk__gt=first)
        started = time.monotonic()
        intake_seconds = post(lambda: show(ours.filter(status=Delivery.Status.DELIVERED).count()))
        while True:
            delivered = ours.filter(status=Delivery.Status.DELIVERED).count()
            show(delivered)
            if delivered >= 2 * count or not ours.open().exists():
                break
            if time.monotonic() - started > timeout:
                raise SystemExit("a phase timed out")
            time.sleep(0.1)
        seconds = time.monotonic() - started
        show(ours.filter(status=Delivery.Status.DELIVERED).count())  # the bar ends where the phase did
        latencies = sorted(
            (delivered_at - created_at).total_seconds()
            for created_at, delivered_at in ours.filter(status=Delivery.Status.DELIVERED).values_list(
                "created_at", "delivered_at"
            )
        )
        return Phase(seconds, intake_seconds, len(latencies), latencies)

    def stop(self) -> None:
        """Stop the clients, the memory sampling, the worker and its pool, and the gateway."""
        self.pool.shutdown(cancel_futures=True)
        self.rss.running = False
        _stop_worker(self.worker)
        self.gateway.stop()
