"""Benchmark the audit trail: appends from 1 and from 4 processes, and verification against fetch + hashlib.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python bench/audit.py --appends 4000 --entries 200000

1. **appends**: each process runs `--appends` transactions of one `audit_append`, alone, then 2 and 4 at
   once; the ratio says whether appenders wait for each other (one global lock made it about 1x).
2. **verify**: `audit_verify` over `--entries` sealed entries, against a baseline that fetches the same
   columns in the same order and hashes each row once with hashlib, in the same run.
The database named in DATABASE_URL is migrated and its audit tables emptied first.

3. **world** (`--world`): against a scale world already seeded in DATABASE_URL (`manage.py seed_scale`),
   nothing emptied: the trail's first page and filtered pages (bank, person, action, a date range, at a
   cursor deep in the trail) at p50/p95, each against the same SQL run raw on a cursor; the CSV export's
   rows/s against PostgreSQL's own COPY of the same rows; with `--verify`, audit_verify over the whole chain.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale_world .venv/bin/python bench/audit.py --world --verify
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()


def _append_many(count: int) -> float:
    _setup()
    from django.db import transaction

    from compliance.audit import Actor, audit_append

    actor = Actor.system("bench")
    started = time.perf_counter()
    for number in range(count):
        with transaction.atomic():
            audit_append(action="bench.append", actor=actor, data={"n": number, "note": "x" * 40})
    return time.perf_counter() - started


def _appends_per_second(processes: int, count: int) -> float:
    # Spawned, so each process has its own Django and database connection.
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        started = time.perf_counter()
        list(pool.map(_append_many, [count] * processes))
        return processes * count / (time.perf_counter() - started)


def _empty_trail() -> None:
    from django.db import connection

    from compliance import triggers
    from compliance.triggers import install_statements, remove_statements

    # The tables of the trail (an older checkout, measured for comparison, names only the entries').
    tables = getattr(triggers, "TABLES", (getattr(triggers, "TABLE", "compliance_auditentry"),))
    with connection.cursor() as cursor:
        for statement in remove_statements(connection):
            cursor.execute(statement)
        cursor.execute(f"TRUNCATE {', '.join(tables)}, compliance_auditchainhead")
        for statement in install_statements(connection):
            cursor.execute(statement)


def _fill(entries: int) -> None:
    from django.db import transaction

    from compliance.audit import Actor, audit_append, audit_seal

    actor = Actor.system("bench")
    done = 0
    while done < entries:
        with transaction.atomic():
            for _ in range(min(5000, entries - done)):
                audit_append(action="bench.verify", actor=actor, data={"n": done, "note": "y" * 60}, ip="10.0.0.1")
                done += 1
        print(f"\r  filling {done}/{entries}", end="", flush=True)
    print()
    # Sealing waits for every older transaction on the server to end (another database's too).
    deadline, sealed = time.monotonic() + 120, 0
    while sealed < entries and time.monotonic() < deadline:
        sealed += audit_seal()
        time.sleep(0.2)
    if sealed < entries:
        raise RuntimeError(f"only {sealed} of {entries} entries were sealed: a long transaction holds sealing back")


def _baseline_rows_per_second() -> tuple[float, int]:
    # The very rows verification reads, fetched by the same query (the time as text on PostgreSQL),
    # each hashed once: what is left between the two is verification's own work.
    from compliance.audit.verify import _chain_rows

    started = time.perf_counter()
    rows = _chain_rows()
    count = 0
    for row in rows:
        hashlib.sha256(repr(row).encode()).hexdigest()
        count += 1
    return count / (time.perf_counter() - started), count


def _verify_rows_per_second() -> tuple[float, int]:
    from compliance.audit import audit_verify

    started = time.perf_counter()
    report = audit_verify()
    if not report.ok:
        raise RuntimeError(f"the bench's own chain does not verify: {report.reason}")
    return report.checked / (time.perf_counter() - started), report.checked


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _timed(call: Any, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return _percentiles(samples)


def _world_filters() -> list[tuple[str, Any, int | None]]:
    """Return (name, filter, cursor) for the pages a compliance officer opens, drawn from the seeded world."""
    import datetime as dt

    from django.db import connection

    from compliance.trail.filters import EVERYTHING, MACHINE, PEOPLE, TrailFilter

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id), max(created_at) FROM compliance_auditentry")
        low, high, newest = cursor.fetchone()
        cursor.execute("SELECT id FROM partners_partner WHERE status = 'live' ORDER BY id LIMIT 1")
        bank = cursor.fetchone()[0]
        cursor.execute("SELECT person_id FROM compliance_auditentry WHERE person_id IS NOT NULL AND id > %s"
                       " ORDER BY id LIMIT 1", [(low + high) // 2])  # fmt: skip
        person = cursor.fetchone()[0]
    deep = low + (high - low) // 3
    month = newest - dt.timedelta(days=120)
    return [
        ("first page, people's actions", TrailFilter(kind=PEOPLE), None),
        ("first page, everything", TrailFilter(kind=EVERYTHING), None),
        ("bank, deep cursor", TrailFilter(kind=EVERYTHING, partner_id=bank), deep),
        ("bank, people's actions", TrailFilter(kind=PEOPLE, partner_id=bank), deep),
        ("person", TrailFilter(kind=EVERYTHING, person_id=person), None),
        ("action consent.revoke, deep", TrailFilter(kind=EVERYTHING, action="consent.revoke"), deep),
        ("machine traffic, deep", TrailFilter(kind=MACHINE), deep),
        ("a month, people's actions", TrailFilter(kind=PEOPLE, since=month, until=month + dt.timedelta(days=30)), None),
    ]


def _world_pages(repeat: int) -> None:
    from django.db import connection

    from compliance.trail.filters import trail_entries
    from compliance.trail.pages import PAGE_SIZE, trail_page

    print(f"  trail pages ({repeat} reads each; baseline: the same SQL run raw on a cursor)")
    for name, trail, before in _world_filters():
        entries = trail_entries(trail)

        def page(entries: Any = entries, before: int | None = before) -> None:
            trail_page(entries, before=before)

        raw = entries.filter(id__lt=before) if before is not None else entries
        sql, params = raw[: PAGE_SIZE + 1].query.sql_with_params()

        def baseline(sql: str = sql, params: Any = params) -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        page()
        baseline()  # warm both
        p50, p95 = _timed(page, repeat)
        _b50, b95 = _timed(baseline, repeat)
        verdict = "ok" if p95 < 1000 else "OVER"
        print(f"    {name:<32} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  raw p95 {b95:6.1f} ms  "
              f"ratio {b95 / p95 if p95 else 0:.2f}x  (target p95 < 1000 ms: {verdict})")  # fmt: skip


def _world_export(rows: int) -> None:
    import io

    from django.db import connection

    from compliance.trail.export import csv_lines
    from compliance.trail.filters import EVERYTHING, TrailFilter, trail_entries

    entries = trail_entries(TrailFilter(kind=EVERYTHING))[:rows]
    started, count = time.perf_counter(), -1
    for _line in csv_lines(entries):
        count += 1
    export = count / (time.perf_counter() - started)
    sql = f"COPY (SELECT * FROM compliance_auditentry ORDER BY id DESC LIMIT {int(rows)}) TO STDOUT WITH CSV"  # noqa: S608
    started, sink = time.perf_counter(), io.BytesIO()
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            sink.write(block)
    raw = rows / (time.perf_counter() - started)
    print(f"  CSV export            : {export:8.0f} rows/s over {count} rows   PostgreSQL COPY of the same rows "
          f"{raw:8.0f} rows/s   ratio {export / raw:.2f}x (target at least 50,000 rows/s)")  # fmt: skip


def world(*, repeat: int, export_rows: int, verify: bool) -> None:
    """Measure the trail's pages, export and (with `verify`) verification against a seeded scale world."""
    from compliance.models import AuditEntry

    total = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    if not total:
        raise SystemExit("No audit entries here: seed a world first (manage.py seed_scale --people N).")
    print(f"  the world holds entries up to id {total:,}")
    _world_pages(repeat)
    _world_export(export_rows)
    if verify:
        baseline, count = _baseline_rows_per_second()
        checked_rate, _checked = _verify_rows_per_second()
        print(f"  fetch + hashlib       : {baseline:8.0f} rows/s over {count:,} entries")
        print(f"  audit_verify          : {checked_rate:8.0f} rows/s   ratio {checked_rate / baseline:.2f}x "
              "(target at least 0.8x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=2000, help="transactions per process")
    parser.add_argument("--entries", type=int, default=100_000, help="sealed entries to verify")
    parser.add_argument("--appends-only", action="store_true", help="measure appends only (e.g. on an older checkout)")
    parser.add_argument("--world", action="store_true", help="measure pages and export on a seeded scale world")
    parser.add_argument("--repeat", type=int, default=40, help="reads of each page (--world)")
    parser.add_argument("--export-rows", type=int, default=300_000, help="rows exported as CSV (--world)")
    parser.add_argument("--verify", action="store_true", help="also audit_verify the whole seeded chain (--world)")
    args = parser.parse_args()
    _setup()
    if args.world:
        world(repeat=args.repeat, export_rows=args.export_rows, verify=args.verify)
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _empty_trail()
    one = _appends_per_second(1, args.appends)
    two = _appends_per_second(2, args.appends)
    four = _appends_per_second(4, args.appends)
    print(f"  appends, 1 process    : {one:8.0f}/s   ({os.cpu_count()} cores here: past them, processes take turns)")
    print(f"  appends, 2 processes  : {two:8.0f}/s   ratio {two / one:.2f}x")
    print(f"  appends, 4 processes  : {four:8.0f}/s   ratio {four / one:.2f}x (target at least 3x)")
    if args.appends_only:
        return
    _empty_trail()
    _fill(args.entries)
    baseline, count = _baseline_rows_per_second()
    verify, checked = _verify_rows_per_second()
    assert count == checked
    print(f"  fetch + hashlib       : {baseline:8.0f} rows/s")
    print(f"  audit_verify          : {verify:8.0f} rows/s   ratio {verify / baseline:.2f}x (target at least 0.8x)")


if __name__ == "__main__":
    main()
