"""Verify as a job: the button starts a run, the page follows its progress, the result names what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from compliance.audit import audit_append, audit_checkpoint, audit_seal
from compliance.models import AuditChainLink, AuditEntry, VerificationRun
from compliance.trail.verification import ProgressRecorder, verification_run
from compliance.triggers import install_statements, remove_statements
from conftest import wait_for
from portal.tests.factories import ComplianceStaffFactory
from portal.tests.signing_in import sign_in_verified


def _tamper(*statements: tuple[str, list[Any]]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in remove_statements(connection):
            cursor.execute(statement)
        for sql, params in statements:
            cursor.execute(sql, params)
        for statement in install_statements(connection):
            cursor.execute(statement)


def _start(client: Client, django_capture_on_commit_callbacks: Any) -> tuple[VerificationRun, list[Any]]:
    """Press "Verify the chain", keeping the job's enqueueing instead of sending it to the broker."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/compliance/verify/")
    run = VerificationRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/compliance/verify/{run.pk}/"
    return run, callbacks


@pytest.fixture
def officer(client: Client, db: None) -> Client:
    return sign_in_verified(client, ComplianceStaffFactory())


@pytest.mark.django_db
def test_the_button_queues_a_run_and_the_page_shows_its_progress_then_the_result(
    officer: Client, django_capture_on_commit_callbacks: Any
) -> None:
    for n in range(5):
        audit_append(action="test.verify", data={"n": n})
    run, callbacks = _start(officer, django_capture_on_commit_callbacks)
    assert len(callbacks) == 1  # the job is sent after commit, once
    assert AuditEntry.objects.filter(action="audit.verify_requested", target_id=str(run.pk)).exists()
    page = officer.get(f"/compliance/verify/{run.pk}/").content.decode()
    assert '<progress id="verification-progress" max="100" value="0">' in page
    assert "js/verification.js" in page
    assert officer.get(f"/compliance/verify/{run.pk}/status/").json() == {
        "status": "queued", "status_label": "Waiting for a worker", "checked": 0, "total": 0, "percent": 0,
        "finished": False,
    }  # fmt: skip
    verification_run(run_id=run.pk)  # what the worker does with the job
    status = officer.get(f"/compliance/verify/{run.pk}/status/").json()
    assert status["finished"]
    assert status["percent"] == 100
    assert status["checked"] >= 6
    page = officer.get(f"/compliance/verify/{run.pk}/").content.decode()
    assert "The chain is intact" in page
    assert "<progress" not in page
    assert AuditEntry.objects.filter(action="audit.verify", target_id=str(run.pk)).exists()
    assert verification_run(run_id=run.pk) is None  # a redelivered job does nothing twice


def _links(n: int) -> list[AuditChainLink]:
    entries = [audit_append(action=f"test.tamper.{i}") for i in range(n)]
    audit_seal()
    return [AuditChainLink.objects.get(entry=entry) for entry in entries]


@pytest.mark.django_db
def test_the_result_names_a_truncated_tail_with_the_head_rewound(
    officer: Client, django_capture_on_commit_callbacks: Any
) -> None:
    links = _links(5)
    audit_checkpoint()
    keep = links[2]
    _tamper(
        ("DELETE FROM compliance_auditchainlink WHERE position > %s", [keep.position]),
        *(("DELETE FROM compliance_auditentry WHERE id = %s", [link.entry_id]) for link in links[3:]),
        ("UPDATE compliance_auditchainhead SET size = %s, chain_hash = %s", [keep.position, keep.chain_hash]),
    )
    run, _ = _start(officer, django_capture_on_commit_callbacks)
    verification_run(run_id=run.pk)
    run.refresh_from_db()
    # The run sealed its own request after the rewound head, so the chain now ends one further on.
    assert run.broken_at == keep.position + 2
    page = officer.get(f"/compliance/verify/{run.pk}/").content.decode()
    assert f"The chain breaks at entry #{run.broken_at}</strong>" in page
    assert f"entries #{keep.position + 2} to #{links[-1].position} were removed (the trail was truncated)" in page
    assert f"the chain breaks at entry #{run.broken_at}</a>" in officer.get("/compliance/").content.decode()


@pytest.mark.django_db
def test_the_result_names_a_rewound_head(officer: Client, django_capture_on_commit_callbacks: Any) -> None:
    links = _links(3)
    _tamper(("UPDATE compliance_auditchainhead SET size = %s", [links[0].position]))
    run, _ = _start(officer, django_capture_on_commit_callbacks)
    verification_run(run_id=run.pk)
    assert "(the head was rewound)" in officer.get(f"/compliance/verify/{run.pk}/").content.decode()


@pytest.mark.django_db
def test_the_result_names_an_edited_entry_with_later_hashes_recomputed(
    officer: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from compliance.audit import GENESIS_HASH, chain_hash, content_hash
    from compliance.audit.entries import HASHED_FIELDS

    links = _links(4)
    audit_checkpoint()
    victim = links[1]
    # Edit an entry, then recompute its hash and every later link with the project's own functions.
    statements: list[tuple[str, list[Any]]] = [
        ("UPDATE compliance_auditentry SET action = 'test.innocent' WHERE id = %s", [victim.entry_id])
    ]
    previous = GENESIS_HASH
    for link in AuditChainLink.objects.select_related("entry").order_by("position"):
        entry = link.entry
        values = [
            "test.innocent" if n == "action" and entry.pk == victim.entry_id else getattr(entry, n)
            for n in HASHED_FIELDS
        ]
        content = content_hash(values)
        previous = chain_hash(link.position, previous, content)
        statements += [
            ("UPDATE compliance_auditentry SET content_hash = %s WHERE id = %s", [content, entry.pk]),
            ("UPDATE compliance_auditchainlink SET chain_hash = %s WHERE position = %s", [previous, link.position]),
        ]
    statements.append(("UPDATE compliance_auditchainhead SET chain_hash = %s", [previous]))
    _tamper(*statements)
    run, _ = _start(officer, django_capture_on_commit_callbacks)
    verification_run(run_id=run.pk)
    page = officer.get(f"/compliance/verify/{run.pk}/").content.decode()
    assert "was changed and the hashes after it recomputed" in page


@pytest.mark.django_db
def test_progress_is_written_as_the_run_goes(db: None) -> None:
    run = VerificationRun.objects.create()
    recorder = ProgressRecorder(run.pk, interval=0)
    recorder(5000, 20000)
    run.refresh_from_db()
    assert (run.checked, run.total, run.percent) == (5000, 20000, 25)


@pytest.mark.django_db
def test_an_unknown_run_is_404(officer: Client) -> None:
    assert officer.get("/compliance/verify/424242/").status_code == 404
    assert officer.get("/compliance/verify/424242/status/").status_code == 404


# --- On a real worker ----------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_verification(celery_worker_process: Any, client: Client) -> None:
    officer = sign_in_verified(client, ComplianceStaffFactory())
    for n in range(20):
        audit_append(action="test.worker", data={"n": n})
    response = officer.post("/compliance/verify/")
    run_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    status = wait_for(
        lambda: (body := officer.get(f"/compliance/verify/{run_id}/status/").json())["finished"] and body, timeout=60
    )
    assert status["status"] == "done"
    assert status["percent"] == 100
    run = VerificationRun.objects.get(pk=run_id)
    # Every entry was verified, or is counted as waiting: the sequencer seals only below the oldest
    # transaction still running anywhere on the database server, which other sessions may hold back.
    assert run.ok, run.reason
    assert run.checked + run.unsealed >= 21
    assert "The chain is intact" in officer.get(f"/compliance/verify/{run_id}/").content.decode()
