"""Celery tasks of the project package: the worker heartbeat, and sweeping sessions past their limits."""

from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat


@shared_task(ignore_result=True, acks_late=False)
def worker_heartbeat() -> None:
    """Record that a worker is alive now (operational state, not an audited domain write)."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=socket.gethostname()[:255], defaults={"last_seen": timezone.now()}
    )


@shared_task(ignore_result=True)
def sessions_sweep() -> int:
    """End the sessions past their limits (`portal.sessions.policy`) that never came back."""
    from .sessions.services import sessions_sweep as sweep

    return sweep(now=timezone.now())
