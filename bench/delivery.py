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
import base64
import multiprocessing
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rig import Phase, Rig, RssWatch, client_shares, client_start, free_port, publish_noops, start_worker


@dataclass
class Figures:
    """What the report prints: the baseline's seconds, the full and half-load phases, and what paced the latter."""

    baseline_seconds: float
    full: Phase
    half: Phase
    half_rate: float
    paced_count: int


def _arguments() -> argparse.Namespace:
    """Return the command line's options, with --messages capped at 200000."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000, help="messages in each phase (at most 200000)")
    parser.add_argument("--links", type=int, default=200, help="consenting people the events are for")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (one worker, prefork pool)")
    parser.add_argument("--batch", type=int, default=500, help="deliveries per Celery task (DELIVERY_BATCH_SIZE)")
    parser.add_argument("--clients", type=int, default=2, help="processes posting (both phases: no-op tasks, events)")
    parser.add_argument("--timeout", type=float, default=300, help="give up a phase after this many seconds")
    args = parser.parse_args()
    args.messages = min(args.messages, 200_000)
    return args


def _environment(args: argparse.Namespace, secret: str, port: int) -> None:
    """Set what every process of the run reads: test settings, the loopback gateway, batch size, no rate limit."""
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


def _bench_bank(count: int) -> tuple[Any, list[int], str]:
    """Create a live bank and `count` people who linked to it and granted; return it, their link ids, its key."""
    from consent.tests.factories import grant_for, link_for
    from delivery.tests.factories import delivery_bank
    from partners.tests.factories import api_key_for
    from portal.tests.factories import UserFactory

    print(f"Creating a live bank and {count} consenting people ...")
    tag = uuid.uuid4().hex[:6]
    bank = delivery_bank(legal_name=f"Bench Bank {tag}", slug=f"bench-{tag}")
    links = []
    for _ in range(count):
        link = link_for(UserFactory(email=f"bench-{tag}-{len(links)}@example.test"), bank)
        grant_for(link)
        links.append(link.pk)
    return bank, links, api_key_for(bank)


def _set_up(args: argparse.Namespace, secret: str, port: int, database_url: str, broker_url: str) -> Rig:
    """Migrate and empty the delivery tables, create the bank, empty the queues, start gateway, worker, clients."""
    import redis
    from django.core.management import call_command
    from django.db import connection

    from delivery.demo_gateway import GatewayReceiver

    print(f"Migrating {database_url.rsplit('/', 1)[-1]} ...")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # a clean slate for the figures (the audit trail stays)
        cursor.execute(
            "TRUNCATE delivery_deliveryattempt, delivery_inboxmessage, delivery_delivery, delivery_partnerevent CASCADE"
        )
    bank, links, api_key = _bench_bank(args.links)

    rds = redis.Redis.from_url(broker_url)
    for queue in ("default", "fraud"):
        rds.delete(queue)
    rds.delete("unacked", "unacked_index")

    gateway = GatewayReceiver(secret, port=port).start()
    worker = start_worker(args.concurrency, port)
    time.sleep(4)
    rss = RssWatch(worker.pid)
    rss.start()
    pool = ProcessPoolExecutor(
        max_workers=args.clients,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=client_start,
        initargs=(dict(os.environ),),
    )
    return Rig(args, bank, links, api_key, rds, gateway, worker, rss, pool)


def _warm_up(rig: Rig) -> int:
    """Post up to 2000 events, wait until they are delivered, then ANALYZE; return how many were posted."""
    from django.db import connection

    from delivery.models import Delivery

    # Warm up (imports, connections, caches), then have PostgreSQL's planner statistics match the data,
    # as autovacuum keeps them on a production database (this machine's PostgreSQL may run without it).
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    warm = min(2000, rig.args.messages)
    print(f"Warming up with {warm} events, then ANALYZE (autovacuum is {autovacuum} here) ...")
    warm_first = Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rig.full_path(warm, lambda: None)
    warm_deadline = time.monotonic() + rig.args.timeout
    while Delivery.objects.filter(pk__gt=warm_first).open().exists():
        if time.monotonic() > warm_deadline:
            raise SystemExit("warm-up timed out")
        time.sleep(0.1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return warm


def _baseline(rig: Rig, progress: Any) -> float:
    """Publish one bare no-op task per message from the clients, wait until the worker ran them; return seconds."""
    args, rds = rig.args, rig.rds
    bar = progress.add_task("baseline: no-op tasks", total=args.messages)
    started = time.monotonic()
    rig.in_clients(
        publish_noops,
        client_shares(args.messages, args.clients, 500),
        lambda: progress.update(bar, completed=args.messages - rds.llen("default") - rds.hlen("unacked")),
    )
    published = time.monotonic()
    progress.console.print(f"baseline: published {args.messages} in {published - started:.1f} s")
    while not rig.drained():
        if time.monotonic() - started > args.timeout:
            raise SystemExit("baseline timed out")
        left = rds.llen("default") + rds.hlen("unacked")
        progress.update(bar, completed=args.messages - left)
        time.sleep(0.05)
    progress.update(bar, completed=args.messages)
    return time.monotonic() - started


def _full_load(rig: Rig, progress: Any) -> Phase:
    """Post --messages events through the partner API in batches of 500, as fast as it goes, to inbox and gateway."""
    args = rig.args
    bar = progress.add_task("full path: events", total=args.messages)
    return rig.measure(
        lambda report: rig.full_path(args.messages, report),
        args.messages,
        lambda delivered: progress.update(bar, completed=delivered // 2),
        args.timeout,
    )


def _half_load(rig: Rig, progress: Any, full: Phase) -> tuple[Phase, float, int]:
    """Post about 20 s of events at half the rate the full load reached; return the phase, that rate and the count.

    This is the latency a person sees when the path is not saturated.
    """
    args = rig.args
    half_rate = args.messages / full.seconds / 2
    paced_count = min(args.messages, max(500, int(half_rate * 20)))  # about 20 s of traffic
    bar = progress.add_task(f"half load: {half_rate:.0f} ev/s", total=paced_count)
    half = rig.measure(
        lambda report: rig.full_path(paced_count, report, batch=100, rate=half_rate),
        paced_count,
        lambda delivered: progress.update(bar, completed=delivered // 2),
        args.timeout,
    )
    return half, half_rate, paced_count


def _phases(rig: Rig) -> Figures:
    """Run the baseline, full-load and half-load phases under progress bars; stop the rig however they end."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        with Progress(
            TextColumn("{task.description:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ) as progress:
            baseline_seconds = _baseline(rig, progress)
            full = _full_load(rig, progress)
            half, half_rate, paced_count = _half_load(rig, progress, full)
    finally:
        rig.stop()
    return Figures(baseline_seconds, full, half, half_rate, paced_count)


def _report(rig: Rig, figures: Figures, warm: int) -> None:
    """Print both rates and their ratio, intake alone, latencies, peak worker RSS, a bar chart and the check."""
    from delivery.models import InboxMessage

    args, rss, full, half = rig.args, rig.rss, figures.full, figures.half
    half_rate, paced_count = figures.half_rate, figures.paced_count
    baseline_rate = args.messages / figures.baseline_seconds
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
    stats = rig.gateway.state.stats()
    posted = warm + args.messages + paced_count
    print(f"  check: {posted} events posted in all; inbox {InboxMessage.objects.filter(partner=rig.bank).count()}, "
          f"gateway unique {stats['unique']}, gateway duplicates {stats['duplicates']}")  # fmt: skip


def main() -> int:
    """Run the benchmark: set up, warm up, the three phases, then the report; return the exit status."""
    args = _arguments()
    secret = "whsec_" + base64.b64encode(b"bench-gateway-secret-0123456789ab").decode()
    port = free_port()
    _environment(args, secret, port)
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith("postgres") or not broker_url.startswith("redis"):
        print("Set DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... (see the docstring).")
        return 2

    import django

    django.setup()
    rig = _set_up(args, secret, port, database_url, broker_url)
    warm = _warm_up(rig)
    figures = _phases(rig)
    _report(rig, figures, warm)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
