"""Benchmark a report's CSV export: rows per second and peak Python memory, against plain fetch + csv in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_reports CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python bench/reports_csv.py --rows 100000

Seeds `--rows` dead letters at one bank (bulk inserts; the database is migrated first and the bench's
own bank replaced), then streams the dead letters report's CSV (`Report.csv_lines`, what the page
sends) and, as the baseline, fetches the same columns with a server-side cursor and writes them with
`csv.writer` and nothing else. Peak memory (tracemalloc) is measured at half and at all the rows: flat
memory means the two peaks are about equal.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_SLUG = "bench-reports-bank"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()


def _seed(rows: int) -> None:
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from consent.models import AccountLink
    from delivery.models import Delivery, PartnerEvent
    from partners.models import Partner
    from portal.models import User

    call_command("migrate", verbosity=0)
    old = Partner.objects.filter(slug=BENCH_SLUG).first()
    if old is not None and Delivery.objects.filter(partner=old).count() == rows:
        return
    with transaction.atomic():
        if old is not None:
            Delivery.objects.filter(partner=old).delete()
            PartnerEvent.objects.filter(partner=old).delete()
            AccountLink.objects.filter(partner=old).delete()
            old.delete()
        bank = Partner.objects.create(slug=BENCH_SLUG, legal_name="Bench Bank", status=Partner.Status.LIVE)
        user = User.objects.filter(email="bench-reports@example.com").first() or User.objects.create_user(
            email="bench-reports@example.com", password=None
        )
        link = AccountLink.objects.create(user=user, partner=bank, account_ref="bench", account_mask="•••• 0001")
        now = timezone.now()
        step = 5000
        for start in range(0, rows, step):
            count = min(step, rows - start)
            events = PartnerEvent.objects.bulk_create(
                PartnerEvent(
                    partner=bank, link=link, type="balance_update", payload={}, idempotency_key=f"b-{start + i}",
                    request_hash="0" * 64, status=PartnerEvent.Status.FAILED, created_at=now,
                )
                for i in range(count)
            )  # fmt: skip
            Delivery.objects.bulk_create(
                Delivery(
                    event=event, partner=bank, channel=Delivery.Channel.GATEWAY, status=Delivery.Status.DEAD,
                    attempts=8, last_error="=502 from the gateway" if i % 2 else "timed out", created_at=now,
                )
                for i, event in enumerate(events)
            )  # fmt: skip
            print(f"\rseeded {start + count:,} of {rows:,}", end="", file=sys.stderr)
        print(file=sys.stderr)


class _Line:
    def write(self, value: str) -> str:
        return value


def _baseline(limit: int) -> Iterator[str]:
    from delivery.models import Delivery

    writer = csv.writer(_Line())
    columns = (
        "created_at",
        "partner__legal_name",
        "pk",
        "event_id",
        "event__type",
        "channel",
        "attempts",
        "last_error",
    )
    rows = Delivery.objects.filter(partner__slug=BENCH_SLUG, status="dead").order_by("-pk").values_list(*columns)
    for row in rows[:limit].iterator(chunk_size=2000):
        yield writer.writerow(row)


def _report(limit: int) -> Iterator[str]:
    from compliance.reports import REPORTS
    from compliance.reports.filters import report_filter
    from partners.models import Partner

    chosen = report_filter({}, bank=Partner.objects.get(slug=BENCH_SLUG))
    for number, line in enumerate(REPORTS["dead-letters"].csv_lines(chosen)):
        if number > limit:
            return
        yield line


def _timed(lines: Iterator[str]) -> tuple[int, float]:
    started = time.perf_counter()
    count = sum(1 for _line in lines)
    return count, time.perf_counter() - started


def _peak(lines: Iterator[str]) -> int:
    # Apart from the timing: tracemalloc slows every allocation several times over.
    tracemalloc.start()
    for _line in lines:
        pass
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    _setup()
    _seed(args.rows)
    _timed(_baseline(args.rows))  # warm the database's cache, so neither side pays for the first read
    base_rows, base_time = _timed(_baseline(args.rows))
    rows, elapsed = _timed(_report(args.rows))
    half_rows, half_peak, peak = args.rows // 2, _peak(_report(args.rows // 2)), _peak(_report(args.rows))
    print(f"baseline (fetch + csv.writer): {base_rows / base_time:,.0f} rows/s")
    ratio = (rows / elapsed) / (base_rows / base_time)
    print(f"dead letters report CSV:       {rows / elapsed:,.0f} rows/s ({ratio:.2f}x baseline)")
    print(f"peak Python memory: {half_peak / 1e6:.1f} MB at {half_rows:,} rows, {peak / 1e6:.1f} MB at {rows:,} rows")


if __name__ == "__main__":
    main()
