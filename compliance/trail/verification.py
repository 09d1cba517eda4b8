"""Verification as a job: start a run (audited), run it on a worker with its progress kept, record what it found."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from ..audit import Actor, audit_append, audit_seal, audit_verify
from ..models import VerificationRun

# The page polls about once a second; the run writes its progress at most this often.
PROGRESS_EVERY_SECONDS = 0.5


def verification_start(*, actor: Any, ip: str | None = None) -> VerificationRun:
    """Queue a verification of the whole chain, audited as asked by `actor`, and return its run."""
    from ..tasks import audit_verify_job

    with transaction.atomic():
        run = VerificationRun.objects.create(requested_by=actor)
        audit_append(action="audit.verify_requested", actor=actor, target=run, ip=ip)
        audit_verify_job.delay_on_commit(run.pk)  # type: ignore[attr-defined]
    return run


class ProgressRecorder:
    """The callback `audit_verify` reports to: writes the run's progress, at most every `interval` seconds."""

    def __init__(self, run_id: int, interval: float = PROGRESS_EVERY_SECONDS) -> None:
        self.run_id, self.interval, self.written_at = run_id, interval, 0.0

    def __call__(self, checked: int, total: int) -> None:
        now = time.monotonic()
        if now - self.written_at >= self.interval:
            VerificationRun.objects.filter(pk=self.run_id).update(checked=checked, total=max(total, checked))
            self.written_at = now


def verification_run(*, run_id: int, interval: float = PROGRESS_EVERY_SECONDS) -> VerificationRun | None:
    """Seal what is ready, verify the chain with the run's progress kept, and record and audit the result.

    A run already finished is left alone (a redelivered task does nothing twice).
    """
    if not VerificationRun.objects.filter(
        pk=run_id, status__in=[VerificationRun.Status.QUEUED, VerificationRun.Status.RUNNING]
    ).update(status=VerificationRun.Status.RUNNING, checked=0):
        return None
    try:
        # A rewound head makes sealing collide with links already there: verify anyway, which names it.
        with contextlib.suppress(DatabaseError):
            audit_seal()
        report = audit_verify(progress=ProgressRecorder(run_id, interval))
    except Exception as error:
        VerificationRun.objects.filter(pk=run_id).update(
            status=VerificationRun.Status.FAILED,
            reason=f"The verification stopped with an error ({type(error).__name__}); start it again.",
            finished_at=timezone.now(),
        )
        raise
    checkpoint = report.newest_checkpoint
    with transaction.atomic():
        run = VerificationRun.objects.select_for_update().get(pk=run_id)
        run.status, run.finished_at = VerificationRun.Status.DONE, timezone.now()
        run.checked, run.total = report.checked, max(run.total, report.checked)
        run.broken_at, run.reason, run.unsealed = report.broken_at, report.reason, report.unsealed
        run.checkpoint_size = checkpoint.size if checkpoint else None
        run.checkpoint_signed_at = checkpoint.signed_at if checkpoint else ""
        run.save()
        audit_append(
            action="audit.verify",
            actor=Actor.system("verification"),
            target=run,
            data={"checked": report.checked, "broken_at": report.broken_at, "reason": report.reason},
        )
    return run


def verification_progress(run: VerificationRun) -> dict[str, Any]:
    """Return what the page's progress bar polls for."""
    return {
        "status": run.status,
        "status_label": run.get_status_display(),
        "checked": run.checked,
        "total": run.total,
        "percent": run.percent,
        "finished": run.finished,
    }
