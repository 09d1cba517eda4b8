"""/healthz reports database, broker and worker, and answers 503 when the worker is silent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import WorkerHeartbeat


@pytest.mark.django_db
def test_healthy_when_a_worker_beat_recently(client: Client) -> None:
    WorkerHeartbeat.objects.create(hostname="w1", last_seen=timezone.now() - timedelta(seconds=30))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("age", [None, timedelta(minutes=2, seconds=5)])
def test_degraded_and_503_when_the_worker_is_silent(client: Client, age: timedelta | None) -> None:
    if age is not None:
        WorkerHeartbeat.objects.create(hostname="w1", last_seen=timezone.now() - age)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["worker"]["status"] == "degraded"


@pytest.mark.django_db
def test_broker_down_is_reported(client: Client, settings: Any) -> None:
    WorkerHeartbeat.objects.create(hostname="w1", last_seen=timezone.now())
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"


def test_the_beat_schedule_runs_the_heartbeat_well_inside_the_limit() -> None:
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"]
    assert entry["task"] == "portal.tasks.worker_heartbeat"
    assert entry["schedule"] * 3 <= settings.PORTAL_HEARTBEAT_MAX_AGE
