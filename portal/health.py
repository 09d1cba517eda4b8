"""The checks behind /healthz: database, broker and the worker's heartbeat."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from .models import WorkerHeartbeat

OK = "ok"
DEGRADED = "degraded"
DOWN = "down"


def check_database() -> dict[str, Any]:
    """Return whether the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the same thing here
        return {"status": DOWN, "detail": type(exc).__name__}
    return {"status": OK, "vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    """Return whether the Celery broker accepts a connection within two seconds."""
    try:
        with Connection(
            settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS, connect_timeout=2
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"status": DOWN, "detail": type(exc).__name__}
    return {"status": OK, "transport": str(settings.CELERY_BROKER_URL).split(":", 1)[0]}


def check_worker() -> dict[str, Any]:
    """Return how long ago a worker last ran the heartbeat task, `degraded` when too long."""
    beat = WorkerHeartbeat.objects.order_by("-last_seen").first()
    if beat is None:
        return {"status": DEGRADED, "detail": "no worker has reported yet", "last_seen": None}
    age = timezone.now() - beat.last_seen
    status = OK if age <= settings.PORTAL_HEARTBEAT_MAX_AGE else DEGRADED
    return {
        "status": status,
        "last_seen": beat.last_seen.isoformat(),
        "age_seconds": round(age.total_seconds(), 1),
        "hostname": beat.hostname,
    }


def health_report() -> dict[str, Any]:
    """Return every check and an overall status: `ok` only when all are ok."""
    database = check_database()
    checks = {
        "database": database,
        "broker": check_broker(),
        "worker": check_worker() if database["status"] == OK else {"status": DOWN, "detail": "database down"},
    }
    overall = OK if all(check["status"] == OK for check in checks.values()) else DEGRADED
    return {"status": overall, "checks": checks}
