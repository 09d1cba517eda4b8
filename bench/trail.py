"""Benchmark the trail page's reads: first and filtered keyset pages against the same query in raw SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_trail CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python bench/trail.py --entries 300000

The database named in DATABASE_URL is migrated and its audit tables emptied, then filled in bulk with
`--entries` entries over a year: 95% machine traffic (50 banks' API keys and the system), 5% people
(2,000 of them), 20 actions. Each case reads one page (`compliance.trail`: filter → `trail_page`,
what the page runs) `--repeat` times, and the baseline runs the same seek as a hand-written SQL
statement on the same connection (`WHERE ... ORDER BY id DESC LIMIT 51`, no join to the chain, no
ORM): the ratio is what the trail's own code costs on top of the index seek.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RAW_COLUMNS = (
    "id, created_at, actor_type, actor_id, actor_label, action, target_type, target_id, target_label,"
    " data_json, ip, content_hash, partner_id, person_id"
)
BANKS, PEOPLE, ACTIONS = 50, 2000, [f"bench.action_{n:02d}" for n in range(20)]


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()


def _fill(entries: int) -> dt.datetime:
    """Insert `entries` rows in bulk (hashes are not checked here), oldest first; return the first time."""
    from django.db import connection, transaction

    from compliance.models import AuditEntry

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
    step = dt.timedelta(days=365) / entries
    done = 0
    while done < entries:
        batch = []
        for n in range(done, min(done + 10_000, entries)):
            person = n % 20 == 0
            batch.append(
                AuditEntry(
                    created_at=start + n * step,
                    actor_type=AuditEntry.ActorType.USER if person else AuditEntry.ActorType.API_KEY,
                    actor_id=str(n % PEOPLE + 1) if person else str(n % BANKS + 1),
                    actor_label=f"person{n % PEOPLE}@example.test" if person else f"key of bank {n % BANKS}",
                    action=ACTIONS[n % len(ACTIONS)],
                    target_type="consent.consentgrant",
                    target_id=str(n % 50_000),
                    target_label=f"grant {n % 50_000}",
                    data_json='{"note":"bench"}',
                    content_hash="0" * 64,
                    partner_id=n % BANKS + 1,
                    person_id=n % PEOPLE + 1,
                )
            )
        with transaction.atomic():
            AuditEntry.objects.bulk_create(batch)
        done += len(batch)
        print(f"\r  filling {done}/{entries}", end="", flush=True)
    print()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE compliance_auditentry")
    return start


def _timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median and 95th percentile of `repeat` runs, in milliseconds (after one warm-up)."""
    run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def _raw(where: str, params: list[object]) -> Callable[[], object]:
    from django.db import connection

    # `where` is one of this script's own constants, never input.
    sql = f"SELECT {RAW_COLUMNS} FROM compliance_auditentry WHERE {where} ORDER BY id DESC LIMIT 51"  # noqa: S608

    def run() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=300_000, help="entries to fill the trail with")
    parser.add_argument("--repeat", type=int, default=40, help="reads of each page")
    args = parser.parse_args()
    _setup()
    from django.core.management import call_command

    from bench.audit import _empty_trail
    from compliance.trail.filters import EVERYTHING, MACHINE, TrailFilter, trail_entries
    from compliance.trail.pages import trail_page

    call_command("migrate", verbosity=0)
    _empty_trail()
    start = _fill(args.entries)
    middle = args.entries // 2
    from compliance.models import AuditEntry

    first_id = AuditEntry.objects.order_by("id").values_list("id", flat=True)[0]
    since = start + dt.timedelta(days=300)
    until = start + dt.timedelta(days=330)
    cases = [
        ("first page, people's actions", TrailFilter(), {}, "actor_type = 'user'", []),
        ("first page, machine traffic", TrailFilter(kind=MACHINE), {}, "actor_type <> 'user'", []),
        ("one bank, people", TrailFilter(partner_id=11), {}, "actor_type = 'user' AND partner_id = %s", [11]),
        ("one person, everything", TrailFilter(kind=EVERYTHING, person_id=41), {}, "person_id = %s", [41]),
        ("one action, everything", TrailFilter(kind=EVERYTHING, action=ACTIONS[3]), {}, "action = %s", [ACTIONS[3]]),
        ("one target", TrailFilter(kind=EVERYTHING, target_type="consent.consentgrant", target_id="123"), {},
         "target_type = %s AND target_id = %s", ["consent.consentgrant", "123"]),
        ("people, a month's range", TrailFilter(since=since, until=until), {},
         "actor_type = 'user' AND created_at >= %s AND created_at < %s", [since, until]),
        ("people, page from the middle", TrailFilter(), {"before": first_id + middle},
         "actor_type = 'user' AND id < %s", [first_id + middle]),
    ]  # fmt: skip
    print(f"  {args.entries} entries, {args.repeat} reads each; median / p95 in ms; ratio of medians vs raw SQL")
    for name, trail, cursor, where, params in cases:
        page_median, page_p95 = _timed(lambda t=trail, c=cursor: trail_page(trail_entries(t), **c).entries, args.repeat)
        raw_median, raw_p95 = _timed(_raw(where, params), args.repeat)
        print(
            f"  {name:32s} trail {page_median:7.2f} / {page_p95:7.2f}   raw {raw_median:7.2f} / {raw_p95:7.2f}"
            f"   ratio {page_median / raw_median:5.2f}x"
        )


if __name__ == "__main__":
    main()
