"""Benchmark the data-subject archive of a busy person: seconds to ready, rows a second, memory, against reading.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python bench/data_archive.py --deliveries 10000

Seeds one person with `--deliveries` delivered events (each with its delivery, an attempt and an inbox
message) and `--entries` audit entries about them, then builds their archive in-process exactly as the
Celery job does (`archive_build`). The baseline reads the same rows of every section in the same run
without writing anything. The issue asks for the busiest person's archive within 30 s. Memory is the
growth of the process's peak resident size during the build: flat means it does not grow with the rows.
The database named in DATABASE_URL is migrated first; the seeded rows stay (a bench database).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()


def _seed(deliveries: int, entries: int) -> int:
    from django.db import transaction
    from django.utils import timezone

    from compliance.audit import audit_append
    from consent.models import AccountLink
    from delivery.models import Delivery, DeliveryAttempt, InboxMessage, PartnerEvent
    from partners.models import Partner
    from portal.models import User

    stamp = time.time_ns()
    with transaction.atomic():
        bank = Partner.objects.create(slug=f"bench-{stamp}", legal_name="Bench Bank plc", status="live")
        person = User.objects.create_user(f"busy-{stamp}@bench.example", "x", full_name="Busy Person")
        link = AccountLink.objects.create(user=person, partner=bank, account_ref=f"ref-{stamp}", account_mask="•••• 1")
        now = timezone.now()
        for start in range(0, deliveries, 2000):
            size = min(2000, deliveries - start)
            events = PartnerEvent.objects.bulk_create(
                PartnerEvent(
                    partner=bank, link=link, type="receipt", idempotency_key=f"{stamp}-{start + n}", request_hash="0",
                    status="delivered", payload={"merchant": "Shop", "amount": "9.99", "currency": "EUR", "items": []},
                )
                for n in range(size)
            )  # fmt: skip
            sent = Delivery.objects.bulk_create(
                Delivery(event=e, partner=bank, channel="inbox", status="delivered", delivered_at=now) for e in events
            )
            DeliveryAttempt.objects.bulk_create(
                DeliveryAttempt(delivery=d, status_code=200, succeeded=True) for d in sent
            )
            InboxMessage.objects.bulk_create(
                InboxMessage(
                    user=person, partner=bank, delivery=d, type="receipt", title="Receipt from Shop", body="9.99"
                )
                for d in sent
            )
        for _ in range(entries):
            audit_append(action="bench.about_person", target=person, data={"note": "x" * 40})
    return person.pk


def _read_baseline(person_id: int) -> tuple[float, int]:
    from compliance.data_requests.holdings import SECTIONS
    from portal.models import User

    person = User.objects.get(pk=person_id)
    started, rows = time.perf_counter(), 0
    for section in SECTIONS:
        for _row in section.rows(person).iterator(chunk_size=2000):
            rows += 1
    return time.perf_counter() - started, rows


def _build(person_id: int) -> tuple[float, int, int, int]:
    from django.conf import settings

    from compliance.data_requests.archive import archive_build
    from compliance.data_requests.models import DataRequest

    request = DataRequest.objects.create(user_id=person_id, kind="archive", requested_by_id=person_id)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    built = archive_build(request_id=request.pk)
    elapsed = time.perf_counter() - started
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert built is not None, "the archive was not built"
    size = built.file_size
    (Path(settings.COMPLIANCE_ARCHIVE_DIR) / built.file_name).unlink()
    return elapsed, built.done, size, grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=2_000)
    args = parser.parse_args()
    os.environ.setdefault("COMPLIANCE_ARCHIVE_DIR", tempfile.mkdtemp(prefix="bench-archives-"))
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    person_id = _seed(args.deliveries, args.entries)
    seeded = time.perf_counter() - started
    print(f"seeded one person: {args.deliveries} deliveries, {args.entries} audit entries in {seeded:.1f} s")
    read_seconds, read_rows = _read_baseline(person_id)
    seconds, rows, size, grown = _build(person_id)
    read_rate = read_rows / read_seconds
    print(f"baseline (read every section's rows): {read_rows} rows in {read_seconds:.2f} s ({read_rate:,.0f} rows/s)")
    print(f"archive: {rows} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s), zip {size / 1e6:.1f} MB")
    ratio = seconds / read_seconds
    print(f"archive / baseline time: {ratio:.2f}x; peak memory grew {grown / 1024:.1f} MB during the build")
    print(f"ready within 30 s: {'yes' if seconds < 30 else 'NO'} ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
