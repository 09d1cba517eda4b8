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
