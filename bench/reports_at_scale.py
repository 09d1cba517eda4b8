"""Time every compliance report page on a seeded scale world, through the real view, as a compliance officer.

    AUDIT_CHECKPOINT_DIR=/tmp/scale-million-ckpt DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale_million \
        .venv/bin/python bench/reports_at_scale.py

Each page is read `--reads` times (5); p50 and the slowest are printed (target: under 1 s at p95).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from compliance.reports import REPORTS
    from portal.models import User
    from portal.tests.signing_in import sign_in_verified

    settings.ALLOWED_HOSTS = ["*"]
    officer = User.objects.filter(groups__name__icontains="compliance").first()
    if officer is None:
        raise SystemExit("No compliance officer here: seed a world first (manage.py seed_scale --people N).")
    client = Client()
    sign_in_verified(client, officer)
    for slug in REPORTS:
        times = []
        for _ in range(args.reads):
            started = time.perf_counter()
            response = client.get(f"/compliance/reports/{slug}/")
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{slug} answered {response.status_code}")
        times.sort()
        verdict = "ok" if times[-1] < 1 else "SLOW"
        middle, slowest = times[len(times) // 2] * 1000, times[-1] * 1000
        print(f"  {slug:24s} p50 {middle:8.0f} ms   slowest {slowest:8.0f} ms  {verdict}")


if __name__ == "__main__":
    main()
