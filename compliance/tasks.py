"""Celery tasks of compliance: the audit trail's sequencer and checkpoints on beat, each one call."""

from __future__ import annotations

from celery import shared_task

from .audit import audit_checkpoint as sign_checkpoint
from .audit import audit_seal as seal
from .trail.verification import verification_run


@shared_task(name="compliance.tasks.audit_seal", ignore_result=True)
def audit_seal() -> int:
    """Link committed entries into the chain (every few seconds on beat; safe to run anywhere, any time)."""
    return seal()


@shared_task(name="compliance.tasks.audit_checkpoint", ignore_result=True)
def audit_checkpoint() -> int:
    """Seal, then sign a checkpoint of the chain when it grew (every minute on beat); return its size."""
    seal()
    checkpoint = sign_checkpoint()
    return checkpoint.size if checkpoint is not None else 0


@shared_task(
    name="compliance.tasks.audit_verify_job",
    ignore_result=True,
    # A trail of tens of millions takes minutes to verify; a redelivered run that finished does nothing.
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 60,
)
def audit_verify_job(run_id: int) -> None:
    """Verify the whole chain for one `VerificationRun`, keeping its progress and result on the row."""
    verification_run(run_id=run_id)


@shared_task(
    name="compliance.tasks.data_archive_build",
    ignore_result=True,
    # The busiest person's archive takes seconds; the limit only stops a stuck run.
    soft_time_limit=30 * 60,
    time_limit=30 * 60 + 60,
)
def data_archive_build(request_id: int) -> None:
    """Build the archive of one data request, keeping its progress on the row."""
    from .data_requests.archive import archive_build

    archive_build(request_id=request_id)


@shared_task(name="compliance.tasks.retention_purge", ignore_result=True, soft_time_limit=3600, time_limit=3660)
def retention_purge() -> dict[str, int]:
    """Purge what is past its retention, in batches, each batch audited (daily on beat)."""
    from .retention import retention_purge as purge

    return purge()
