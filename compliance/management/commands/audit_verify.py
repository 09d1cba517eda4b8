"""`manage.py audit_verify`: check the audit trail's hash chain end to end."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from compliance.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; print OK with the count, or the first broken entry."

    def handle(self, *args: Any, **options: Any) -> None:
        show_bar = sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if show_bar and total:
                width = 30
                filled = int(width * done / total)
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
                if done == total:
                    sys.stderr.write("\n")

        report = audit_verify(progress=progress)
        if report.ok:
            self.stdout.write(f"OK: {report.checked} entries, the chain is intact.")
            return
        raise CommandError(
            f"BROKEN at entry #{report.broken_sequence}: {report.reason}. {report.checked} entries before it verified."
        )
