"""The audit trail: entries written without a lock, chained by the sequencer, refused changes, tampering found."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from compliance import tasks
from compliance.audit import (
    GENESIS_HASH,
    REDACTED,
    Actor,
    audit_append,
    audit_checkpoint,
    audit_seal,
    audit_verify,
    chain_hash,
    content_hash,
    read_checkpoints,
)
from compliance.audit.entries import HASHED_FIELDS
from compliance.models import AuditChainHead, AuditChainLink, AuditCheckpoint, AuditEntry, AuditTrailIsAppendOnly
from compliance.triggers import TABLES, install_statements, remove_statements
from conftest import wait_for
from portal.tests.factories import UserFactory


@pytest.mark.django_db
def test_entries_are_sealed_into_a_chain_in_order_and_verify() -> None:
    user = UserFactory()
    first = audit_append(action="test.first", actor=user, target=user, data={"a": 1}, ip="10.0.0.1")
    second = audit_append(action="test.second", actor=Actor.system("beat"))
    assert first.content_hash == content_hash([getattr(first, name) for name in HASHED_FIELDS])
    assert not AuditChainLink.objects.filter(entry__in=[first, second]).exists()  # nothing is locked or linked yet

    audit_seal()
    one, two = (AuditChainLink.objects.get(entry=entry) for entry in (first, second))
    assert two.position == one.position + 1
    before = AuditChainLink.objects.filter(position=one.position - 1).first()
    assert one.chain_hash == chain_hash(one.position, before.chain_hash if before else GENESIS_HASH, first.content_hash)
    assert two.chain_hash == chain_hash(two.position, one.chain_hash, second.content_hash)
    head = AuditChainHead.objects.get()
    assert (head.size, head.chain_hash) == (two.position, two.chain_hash)
    assert first.actor_label == user.email
    assert first.target_type == "portal.user"
    report = audit_verify()
    assert report.ok
    assert (report.checked, report.unsealed) == (head.size, 0)
    assert audit_seal() == 0  # nothing twice


@pytest.mark.django_db
def test_secrets_are_redacted_at_any_depth() -> None:
    entry = audit_append(
        action="test.redact",
        data={"password": "hunter2", "nested": {"client_secret": "s", "name": "ok"}, "items": [{"api_key": "k"}]},
    )
    assert entry.data == {
        "password": REDACTED,
        "nested": {"client_secret": REDACTED, "name": "ok"},
        "items": [{"api_key": REDACTED}],
    }
    assert "hunter2" not in entry.data_json


@pytest.mark.django_db
def test_python_refuses_to_change_or_delete_entries_links_and_checkpoints() -> None:
    entry = audit_append(action="test.python")
    audit_seal()
    entry.action = "test.changed"
    with pytest.raises(AuditTrailIsAppendOnly):
        entry.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEntry.objects.all().delete()
    link = AuditChainLink.objects.get(entry=entry)
    with pytest.raises(AuditTrailIsAppendOnly):
        link.save()
    checkpoint = audit_checkpoint()
    assert checkpoint is not None
    with pytest.raises(AuditTrailIsAppendOnly):
        checkpoint.delete()


@pytest.mark.django_db
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("verb", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_database_refuses_update_and_delete_on_every_audit_table(table: str, verb: str) -> None:
    audit_append(action="test.sql")
    audit_seal()
    audit_checkpoint()
    statement = verb.format(table=table).replace(
        "SET id = id", "SET position = position" if "link" in table else "SET id = id"
    )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEntry.objects.filter(action="test.sql").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("table", TABLES)
def test_postgresql_refuses_truncate(table: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL; SQLite's DELETE is covered above")
    audit_append(action="test.truncate")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")


# --- Tampering, as the database's owner could: triggers off, rows changed, triggers on again -------


def _tamper(*statements: tuple[str, list[Any]]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in remove_statements(connection):
            cursor.execute(statement)
        for sql, params in statements:
            cursor.execute(sql, params)
        for statement in install_statements(connection):
            cursor.execute(statement)


def _sealed(n: int, prefix: str) -> list[AuditChainLink]:
    entries = [audit_append(action=f"{prefix}.{i}", data={"n": i}) for i in range(n)]
    audit_seal()
    return [AuditChainLink.objects.get(entry=entry) for entry in entries]


@pytest.mark.django_db
def test_verify_finds_an_altered_entry_and_says_which(capsys: pytest.CaptureFixture[str]) -> None:
    links = _sealed(5, "test.verify")
    call_command("audit_verify")
    assert "OK:" in capsys.readouterr().out

    victim = links[2]
    _tamper(("UPDATE compliance_auditentry SET data_json = %s WHERE id = %s", ['{"n":99}', victim.entry_id]))

    report = audit_verify()
    assert (report.ok, report.broken_at) == (False, victim.position)
    assert "altered" in report.reason
    with pytest.raises(CommandError, match=f"BROKEN at entry #{victim.position}"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_verify_finds_a_removed_entry() -> None:
    links = _sealed(3, "test.gap")
    _tamper(
        ("DELETE FROM compliance_auditchainlink WHERE position = %s", [links[1].position]),
        ("DELETE FROM compliance_auditentry WHERE id = %s", [links[1].entry_id]),
    )
    report = audit_verify()
    assert report.broken_at == links[1].position
    assert "missing" in report.reason


def _recompute_from(position: int) -> None:
    """Rewrite every link from `position` on, and the head, with the project's own functions."""
    rows = list(AuditChainLink.objects.filter(position__gte=position).order_by("position").select_related("entry"))
    before = AuditChainLink.objects.filter(position=position - 1).first()
    previous = before.chain_hash if before else GENESIS_HASH
    statements = []
    for link in rows:
        content = content_hash([getattr(link.entry, name) for name in HASHED_FIELDS])
        previous = chain_hash(link.position, previous, content)
        statements.append(
            ("UPDATE compliance_auditentry SET content_hash = %s WHERE id = %s", [content, link.entry_id])
        )
        statements.append(
            ("UPDATE compliance_auditchainlink SET chain_hash = %s WHERE position = %s", [previous, link.position])
        )
    statements.append(("UPDATE compliance_auditchainhead SET chain_hash = %s", [previous]))
    _tamper(*statements)


@pytest.mark.django_db
def test_an_edit_with_every_later_hash_recomputed_is_caught_by_the_signed_checkpoint() -> None:
    links = _sealed(6, "test.recompute")
    assert audit_checkpoint() is not None
    later = _sealed(2, "test.after")  # after the checkpoint: proven by hashes until the next one
    victim = links[3]
    _tamper(("UPDATE compliance_auditentry SET action = 'test.innocent' WHERE id = %s", [victim.entry_id]))
    _recompute_from(victim.position)
    # Without a checkpoint the edit would pass: every hash is consistent again.
    checkpoint = read_checkpoints()[-1]
    report = audit_verify()
    assert not report.ok
    assert report.broken_at == 1
    assert f"does not match the checkpoint signed at {checkpoint.signed_at}" in report.reason
    assert f"from #1 to #{checkpoint.size}" in report.reason
    assert later[-1].position > checkpoint.size


@pytest.mark.django_db
def test_two_checkpoints_narrow_down_where_the_edit_was() -> None:
    first = _sealed(3, "test.early")
    audit_checkpoint()
    links = _sealed(3, "test.late")
    audit_checkpoint()
    _tamper(("UPDATE compliance_auditentry SET action = 'test.innocent' WHERE id = %s", [links[1].entry_id]))
    _recompute_from(links[1].position)
    report = audit_verify()
    assert report.broken_at == first[-1].position + 1
    assert f"from #{first[-1].position + 1} to #{links[-1].position}" in report.reason


@pytest.mark.django_db
def test_a_truncated_tail_with_the_head_rewound_is_caught() -> None:
    links = _sealed(5, "test.tail")
    audit_checkpoint()
    keep = links[2]
    _tamper(
        ("DELETE FROM compliance_auditchainlink WHERE position > %s", [keep.position]),
        *(("DELETE FROM compliance_auditentry WHERE id = %s", [link.entry_id]) for link in links[3:]),
        ("UPDATE compliance_auditchainhead SET size = %s, chain_hash = %s", [keep.position, keep.chain_hash]),
    )
    report = audit_verify()
    assert report.broken_at == keep.position + 1
    assert "truncated" in report.reason
    assert f"entries #{keep.position + 1} to #{links[-1].position} were removed" in report.reason


@pytest.mark.django_db
def test_a_rewound_head_is_caught_even_before_a_checkpoint() -> None:
    links = _sealed(3, "test.rewind")
    _tamper(("UPDATE compliance_auditchainhead SET size = %s", [links[0].position]))
    report = audit_verify()
    assert not report.ok
    assert "rewound" in report.reason


@pytest.mark.django_db
def test_a_checkpoint_signed_by_another_key_is_named(settings: Any) -> None:
    _sealed(2, "test.forged")
    audit_checkpoint()
    genuine = read_checkpoints()[-1]
    forged = dict(json.loads(genuine.path.read_text()))
    other = Ed25519PrivateKey.generate()
    forged["signature"] = base64.b64encode(other.sign(b"anything")).decode()
    (Path(settings.AUDIT_CHECKPOINT_DIR) / "999999999999999-forged.json").write_text(json.dumps(forged))
    report = audit_verify()
    assert not report.ok
    assert "999999999999999-forged.json is not signed by this portal's key" in report.reason


@pytest.mark.django_db
def test_checkpoints_are_signed_files_outside_the_database_and_only_when_the_chain_grew(settings: Any) -> None:
    _sealed(2, "test.files")
    checkpoint = audit_checkpoint()
    assert checkpoint is not None
    assert audit_checkpoint() is None  # nothing new to sign
    [on_disk] = read_checkpoints()
    assert on_disk.valid
    assert (on_disk.size, on_disk.chain_hash) == (checkpoint.size, checkpoint.chain_hash)
    assert on_disk.path.parent == Path(settings.AUDIT_CHECKPOINT_DIR)
    assert AuditCheckpoint.objects.count() == 1
    audit_append(action="test.more")
    assert tasks.audit_checkpoint() == checkpoint.size + 1  # the beat task seals, then signs


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_take_no_lock_and_the_chain_holds_them_all() -> None:
    errors: list[BaseException] = []

    def append_many(n: int) -> None:
        try:
            for i in range(10):
                with transaction.atomic():
                    audit_append(action=f"test.thread.{n}.{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    # Sealing waits for every older transaction in the cluster (another test database's too) to end.
    wait_for(
        lambda: audit_seal() >= 0
        and AuditChainLink.objects.filter(entry__action__startswith="test.thread.").count() == 40
    )
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_an_append_does_not_wait_for_another_transaction_and_is_not_sealed_past_it() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time, so nothing can be in flight beside it")
    opened, release = threading.Event(), threading.Event()
    slow_entry: list[int] = []

    def slow_transaction() -> None:
        try:
            with transaction.atomic():
                slow_entry.append(audit_append(action="test.slow").pk)
                opened.set()
                release.wait(20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    try:
        assert opened.wait(10)
        with transaction.atomic():
            quick = audit_append(action="test.quick")  # would wait on the old chain-head lock
        audit_seal()
        # The quick entry committed, but an older transaction is still running: nothing after it is sealed.
        assert not AuditChainLink.objects.filter(entry=quick).exists()
    finally:
        release.set()
        thread.join(20)
    wait_for(lambda: audit_seal() >= 0 and AuditChainLink.objects.filter(entry=quick).exists())
    slow_link = AuditChainLink.objects.get(entry_id=slow_entry[0])
    quick_link = AuditChainLink.objects.get(entry=quick)
    assert slow_link.position < quick_link.position  # sealed in transaction order
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_chain_verified_in_stretches_by_worker_processes_finds_what_one_pass_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from compliance.audit import verify, verify_parallel

    monkeypatch.setattr(verify, "PARALLEL_FROM", 1)  # a short chain, in several stretches
    monkeypatch.setattr(verify_parallel, "STRETCHES_PER_WORKER", 4)
    entries = [audit_append(action=f"test.parallel.{i}", data={"n": i}) for i in range(40)]
    # Sealing waits for every older transaction in the cluster (another test database's too) to end.
    wait_for(lambda: audit_seal() >= 0 and AuditChainLink.objects.filter(entry__in=entries).count() == 40)
    links = [AuditChainLink.objects.get(entry=entry) for entry in entries]
    audit_checkpoint()
    done: list[tuple[int, int]] = []
    whole = audit_verify(workers=2, progress=lambda checked, total: done.append((checked, total)))
    assert whole.ok
    assert whole.checked == audit_verify().checked == links[-1].position
    assert done[-1] == (whole.checked, whole.checked)
    assert len(done) > 2  # a step per stretch
    victim = links[25]
    _tamper(("UPDATE compliance_auditentry SET data_json = %s WHERE id = %s", ['{"n":99}', victim.entry_id]))
    one_pass, in_stretches = audit_verify(), audit_verify(workers=2)
    assert (in_stretches.broken_at, in_stretches.reason) == (one_pass.broken_at, one_pass.reason)
    assert in_stretches.broken_at == victim.position
    assert in_stretches.checked == one_pass.checked == victim.position - 1
    _tamper(("DELETE FROM compliance_auditchainlink WHERE position = %s", [links[10].position]))
    one_pass, in_stretches = audit_verify(), audit_verify(workers=2)
    assert (in_stretches.broken_at, in_stretches.reason) == (one_pass.broken_at, one_pass.reason)
    assert "missing" in in_stretches.reason
