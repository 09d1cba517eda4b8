"""Benchmark delivery end to end against a baseline of bare Celery no-op tasks on the same broker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python bench/delivery.py --messages 20000 --concurrency 2

Full path: the partner API (in-process WSGI in --clients processes, batches of 500), the consent
check at intake, event and outbox rows in one transaction, Celery batch tasks, the consent check
again under the fence, the inbox insert and a signed batch POST to a loopback gateway receiver; then
the same at half the rate reached, for the latency. Baseline: one no-op task per message, published
by the same client processes to the same broker and run by the same worker processes. Bounded by
--messages and --timeout; the database named in DATABASE_URL is migrated, its delivery tables
emptied, and analyzed after a warm-up.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import multiprocessing
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
sys.path.insert(0, str(ROOT))


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


def _free_port() -> int:
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


# --- What each client process runs: spawned, so each has its own Django, database and broker connections.


def _client_start(environ: dict[str, str]) -> None:
    os.environ.update(environ)
    import django

    django.setup()


def _publish_noops(first: int, count: int) -> None:
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


def _shares(count: int, clients: int, batch: int) -> list[tuple[int, int]]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000, help="messages in each phase (at most 200000)")
    parser.add_argument("--links", type=int, default=200, help="consenting people the events are for")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (one worker, prefork pool)")
    parser.add_argument("--batch", type=int, default=500, help="deliveries per Celery task (DELIVERY_BATCH_SIZE)")
    parser.add_argument("--clients", type=int, default=2, help="processes posting (both phases: no-op tasks, events)")
    parser.add_argument("--timeout", type=float, default=300, help="give up a phase after this many seconds")
    args = parser.parse_args()
    args.messages = min(args.messages, 200_000)

    secret = "whsec_" + base64.b64encode(b"bench-gateway-secret-0123456789ab").decode()
    port = _free_port()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "PORTAL_GATEWAY_URL": f"http://127.0.0.1:{port}/messages",
            "PORTAL_GATEWAY_SECRET": secret,
            "DELIVERY_BATCH_SIZE": str(args.batch),
            "PORTAL_API_RATE": "100000/min",
            "DJANGO_LOG_LEVEL": os.environ.get("DJANGO_LOG_LEVEL", "WARNING"),
        }
    )
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith("postgres") or not broker_url.startswith("redis"):
        print("Set DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... (see the docstring).")
        return 2

    import django

    django.setup()
    from django.core.management import call_command
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    print(f"Migrating {database_url.rsplit('/', 1)[-1]} ...")
    call_command("migrate", verbosity=0)

    import redis
    from django.db import connection

    from consent.tests.factories import grant_for, link_for
    from delivery.demo_gateway import GatewayReceiver
    from delivery.models import Delivery, InboxMessage
    from delivery.tests.factories import delivery_bank
    from partners.tests.factories import api_key_for
    from portal.tests.factories import UserFactory

    with connection.cursor() as cursor:  # a clean slate for the figures (the audit trail stays)
        cursor.execute(
            "TRUNCATE delivery_deliveryattempt, delivery_inboxmessage, delivery_delivery, delivery_partnerevent CASCADE"
        )
    print(f"Creating a live bank and {args.links} consenting people ...")
    tag = uuid.uuid4().hex[:6]
    bank = delivery_bank(legal_name=f"Bench Bank {tag}", slug=f"bench-{tag}")
    links = []
    for _ in range(args.links):
        link = link_for(UserFactory(email=f"bench-{tag}-{len(links)}@example.test"), bank)
        grant_for(link)
        links.append(link.pk)
    api_key = api_key_for(bank)

    rds = redis.Redis.from_url(broker_url)
    for queue in ("default", "fraud"):
        rds.delete(queue)
    rds.delete("unacked", "unacked_index")

    gateway = GatewayReceiver(secret, port=port).start()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = (ROOT / "artifacts" / "bench-worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "portal", "worker", "--queues", "fraud,default",
            "--concurrency", str(args.concurrency), "--pool", "prefork", "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--hostname", f"bench-{port}@%h",
        ],
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    # However the run ends (a refused warm-up included), the worker and its pool go with it: a stray
    # worker on the same broker would take the next run's tasks.
    atexit.register(_stop_worker, worker)
    time.sleep(4)
    rss = RssWatch(worker.pid)
    rss.start()

    def drained() -> bool:
        return rds.llen("default") == 0 and rds.llen("fraud") == 0 and rds.hlen("unacked") == 0

    pool = ProcessPoolExecutor(
        max_workers=args.clients,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_client_start,
        initargs=(dict(os.environ),),
    )

    def in_clients(work: Any, shares: list[tuple[Any, ...]], report: Any) -> float:
        """Run `work(*share)` for each share across the client processes; report progress; return seconds."""
        started = time.monotonic()
        futures = [pool.submit(work, *share) for share in shares]
        while not all(future.done() for future in futures):
            report()
            time.sleep(0.1)
        for future in futures:
            future.result()  # raises what a client raised
        return time.monotonic() - started

    def full_path(count: int, report: Any, *, batch: int = 500, rate: float | None = None) -> float:
        """Post `count` balance updates in batches from every client (at `rate` in all); return intake's seconds."""
        run = uuid.uuid4().hex[:8]
        shares = _shares(count, args.clients, batch)
        each = None if rate is None else rate / len(shares)
        return in_clients(
            _post_events, [(api_key, links, run, first, size, batch, each) for first, size in shares], report
        )

    def measure(post: Any, count: int, show: Any, timeout: float) -> Phase:
        """Run `post`, wait until its deliveries are done, and return the phase's figures."""
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

    # Warm up (imports, connections, caches), then have PostgreSQL's planner statistics match the data,
    # as autovacuum keeps them on a production database (this machine's PostgreSQL may run without it).
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    warm = min(2000, args.messages)
    print(f"Warming up with {warm} events, then ANALYZE (autovacuum is {autovacuum} here) ...")
    warm_first = Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    full_path(warm, lambda: None)
    warm_deadline = time.monotonic() + args.timeout
    while Delivery.objects.filter(pk__gt=warm_first).open().exists():
        if time.monotonic() > warm_deadline:
            raise SystemExit("warm-up timed out")
        time.sleep(0.1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    results: dict[str, Any] = {}
    try:
        with Progress(
            TextColumn("{task.description:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ) as progress:
            # --- Baseline: one bare no-op task per message on the same broker and workers.
            bar = progress.add_task("baseline: no-op tasks", total=args.messages)
            started = time.monotonic()
            in_clients(
                _publish_noops,
                _shares(args.messages, args.clients, 500),
                lambda: progress.update(bar, completed=args.messages - rds.llen("default") - rds.hlen("unacked")),
            )
            published = time.monotonic()
            progress.console.print(f"baseline: published {args.messages} in {published - started:.1f} s")
            while not drained():
                if time.monotonic() - started > args.timeout:
                    raise SystemExit("baseline timed out")
                left = rds.llen("default") + rds.hlen("unacked")
                progress.update(bar, completed=args.messages - left)
                time.sleep(0.05)
            progress.update(bar, completed=args.messages)
            results["baseline_seconds"] = time.monotonic() - started

            # --- Full path: the partner API in batches of 500, to inbox and gateway, as fast as it goes.
            bar = progress.add_task("full path: events", total=args.messages)
            full = measure(
                lambda report: full_path(args.messages, report),
                args.messages,
                lambda delivered: progress.update(bar, completed=delivered // 2),
                args.timeout,
            )
            # --- The same path at half the rate it reached: the latency a person sees when it is not saturated.
            half_rate = args.messages / full.seconds / 2
            paced_count = min(args.messages, max(500, int(half_rate * 20)))  # about 20 s of traffic
            bar = progress.add_task(f"half load: {half_rate:.0f} ev/s", total=paced_count)
            half = measure(
                lambda report: full_path(paced_count, report, batch=100, rate=half_rate),
                paced_count,
                lambda delivered: progress.update(bar, completed=delivered // 2),
                args.timeout,
            )
    finally:
        pool.shutdown(cancel_futures=True)
        rss.running = False
        _stop_worker(worker)
        gateway.stop()

    baseline_rate = args.messages / results["baseline_seconds"]
    full_rate = (full.delivered / 2) / full.seconds
    print()
    print(
        f"PostgreSQL + Redis, one worker with {args.concurrency} processes, {args.clients} client processes, "
        f"{args.messages} messages per phase"
    )
    print(f"  baseline  bare no-op tasks, one per message : {baseline_rate:9.0f} messages/s")
    print(f"  full path API→consent→outbox→Celery→inbox+gateway : {full_rate:9.0f} messages/s "
          f"({full.delivered / full.seconds:.0f} deliveries/s over two channels)")  # fmt: skip
    print(f"  ratio full/baseline (messages)              : {full_rate / baseline_rate:9.2f}x")
    print(f"  intake alone                                : {args.messages / full.intake_seconds:9.0f} events/s")
    print(f"  intake→delivered p50 / p99, full load       : {full.p50:.3f} s / {full.p99:.3f} s")
    print(f"  intake→delivered p50 / p99, half load       : {half.p50:.3f} s / {half.p99:.3f} s "
          f"({paced_count} events at {half_rate:.0f}/s in batches of 100)")  # fmt: skip
    print(f"  peak worker RSS                             : {rss.peak_total / 1024:.0f} MiB in all, "
          f"{rss.peak_process / 1024:.0f} MiB largest process")  # fmt: skip
    top = max(baseline_rate, full_rate)
    for label, rate in (("baseline", baseline_rate), ("full path", full_rate)):
        print(f"  {label:<10} {'█' * max(1, round(48 * rate / top)):<48} {rate:7.0f} messages/s")
    stats = gateway.state.stats()
    posted = warm + args.messages + paced_count
    print(f"  check: {posted} events posted in all; inbox {InboxMessage.objects.filter(partner=bank).count()}, "
          f"gateway unique {stats['unique']}, gateway duplicates {stats['duplicates']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
