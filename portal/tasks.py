"""Celery tasks of the project package: the worker heartbeat."""

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
