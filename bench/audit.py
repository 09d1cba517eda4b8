"""Benchmark the audit trail: appends from 1 and from 4 processes, and verification against fetch + hashlib.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python bench/audit.py --appends 4000 --entries 200000

1. **appends**: each process runs `--appends` transactions of one `audit_append`, alone, then 2 and 4 at
   once; the ratio says whether appenders wait for each other (one global lock made it about 1x).
2. **verify**: `audit_verify` over `--entries` sealed entries, against a baseline that fetches the same
   columns in the same order and hashes each row once with hashlib, in the same run.
The database named in DATABASE_URL is migrated and its audit tables emptied first.
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
    from compliance.audit.entries import HASHED_FIELDS
    from compliance.models import AuditChainLink

    started = time.perf_counter()
    rows = (
        AuditChainLink.objects.order_by("position")
        .values_list("position", "chain_hash", "entry__content_hash", *(f"entry__{name}" for name in HASHED_FIELDS))
        .iterator(chunk_size=5000)
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=2000, help="transactions per process")
    parser.add_argument("--entries", type=int, default=100_000, help="sealed entries to verify")
    parser.add_argument("--appends-only", action="store_true", help="measure appends only (e.g. on an older checkout)")
    args = parser.parse_args()
    _setup()
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
