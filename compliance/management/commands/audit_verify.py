"""`manage.py audit_verify`: seal what is ready, then check the audit trail's chain against its checkpoints."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from compliance.audit import audit_seal, audit_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and signed checkpoints; print OK with the count, or the first break."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="processes verifying stretches of a long chain at once (default: one per core; 1 for one pass)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        show_bar = sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if show_bar and total:
                width = 30
                filled = int(width * done / total)
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
                if done == total:
                    sys.stderr.write("\n")

        audit_seal()
        report = audit_verify(progress=progress, workers=max(1, options["workers"]))
        if not report.ok:
            raise CommandError(
                f"BROKEN at entry #{report.broken_at}: {report.reason}. {report.checked} entries before it verified."
            )
        newest = report.newest_checkpoint
        proof = (
            f"the newest signed checkpoint ({newest.signed_at}) covers #{newest.size}"
            if newest is not None
            else "no checkpoint signed yet"
        )
        self.stdout.write(f"OK: {report.checked} entries, the chain is intact; {proof}.")
        if report.unsealed:
            self.stdout.write(f"{report.unsealed} newer entries wait for transactions still running.")
