"""A process killed between a revocation's commit and its publish: the bank still gets `consent.revoked`, once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest

from conftest import ROOT, database_url_for_worker, wait_for
from consent.models import ConsentGrant
from delivery import services
from delivery.demo_gateway import GatewayReceiver
from delivery.models import WebhookMessage
from delivery.tests.factories import consenting
from partners.services import webhook_endpoint_create

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Revoke a grant as its person would, and die the moment the transaction has committed: before any
# after-commit hook (signal, publish, email) runs.
REVOKE_THEN_DIE = """
import os, sys, django
django.setup()
from django.db.backends.base.base import BaseDatabaseWrapper
BaseDatabaseWrapper.run_and_clear_commit_hooks = lambda self: os._exit(3)
from consent.models import ConsentGrant
from consent.services import consent_revoke
grant = ConsentGrant.objects.select_related("user").get(pk=int(sys.argv[1]))
consent_revoke(grant=grant, actor=grant.user)
sys.exit(0)  # not reached
"""


def test_a_process_killed_between_commit_and_publish_still_tells_the_bank_once(
    celery_worker_process: Any, settings: Any
) -> None:
    c = consenting()
    endpoint, secret = webhook_endpoint_create(
        partner=c.bank, url="http://127.0.0.1:1/hooks", event_types=["consent.revoked"], actor=None
    )
    with GatewayReceiver(secret) as bank:
        WebhookMessage.objects.none()  # nothing queued yet
        type(endpoint).objects.filter(pk=endpoint.pk).update(url=bank.url)
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_worker(),
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        }
        died = subprocess.run(
            [sys.executable, "-c", REVOKE_THEN_DIE, str(c.grant.pk)], cwd=ROOT, env=env, timeout=60, check=False
        )
        assert died.returncode == 3  # it died where we wanted: right after the commit
        # The revocation and the bank's webhook row committed together; nothing reached the broker.
        assert ConsentGrant.objects.get(pk=c.grant.pk).status == ConsentGrant.Status.REVOKED
        message = WebhookMessage.objects.get(partner=c.bank, event_type="consent.revoked")
        assert message.enqueued_at is None
        assert bank.state.arrivals == 0

        # Beat's sweeper finds the row and publishes it; the worker signs and sends it.
        for _ in range(5):
            services.outbox_sweep(reenqueue_after=timedelta(seconds=30))
            time.sleep(0.3)
        wait_for(lambda: bank.state.stats()["unique"] == 1, timeout=30)
        time.sleep(1.0)  # a second copy, if any, would land now
        assert bank.state.stats() == {"unique": 1, "duplicates": 0, "rejected": 0}
        [body] = bank.state.messages.values()
        assert body["type"] == "consent.revoked"
        assert [consent["id"] for consent in body["data"]["consents"]] == [c.grant.pk]
