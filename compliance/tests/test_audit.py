"""The audit trail chains every entry, refuses changes in the database, and finds tampering."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from compliance.audit import GENESIS_HASH, REDACTED, Actor, audit_append, audit_verify
from compliance.models import AuditChainHead, AuditEntry, AuditTrailIsAppendOnly
from compliance.triggers import install_statements, remove_statements
from portal.tests.factories import UserFactory


@pytest.mark.django_db
def test_entries_chain_each_to_the_one_before() -> None:
    user = UserFactory()
    first = audit_append(action="test.first", actor=user, target=user, data={"a": 1}, ip="10.0.0.1")
    second = audit_append(action="test.second", actor=Actor.system("beat"))

    assert first.prev_hash == GENESIS_HASH or first.sequence > 1
    assert second.sequence == first.sequence + 1
    assert second.prev_hash == first.entry_hash
    assert AuditChainHead.objects.get().entry_hash == second.entry_hash
    assert first.actor_label == user.email
    assert first.target_type == "portal.user"
    assert audit_verify().ok


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
def test_python_refuses_to_change_or_delete_entries() -> None:
    entry = audit_append(action="test.python")
    entry.action = "test.changed"
    with pytest.raises(AuditTrailIsAppendOnly):
        entry.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEntry.objects.all().delete()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE compliance_auditentry SET action = 'tampered'",
        "DELETE FROM compliance_auditentry",
    ],
)
def test_database_refuses_update_and_delete(statement: str) -> None:
    audit_append(action="test.sql")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEntry.objects.filter(action="test.sql").exists()


@pytest.mark.django_db
def test_postgresql_refuses_truncate() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL; SQLite's DELETE is covered above")
    audit_append(action="test.truncate")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE compliance_auditentry")


def _tamper(sql: str, params: list[object]) -> None:
    """Change a row behind the triggers' back, as an attacker with table-owner rights could."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in remove_statements(connection):
            cursor.execute(statement)
        cursor.execute(sql, params)
        for statement in install_statements(connection):
            cursor.execute(statement)


@pytest.mark.django_db
def test_verify_finds_an_altered_entry_and_says_which(capsys: pytest.CaptureFixture[str]) -> None:
    entries = [audit_append(action=f"test.verify.{n}", data={"n": n}) for n in range(5)]
    call_command("audit_verify")
    assert "OK:" in capsys.readouterr().out

    victim = entries[2]
    _tamper("UPDATE compliance_auditentry SET data_json = %s WHERE id = %s", ['{"n":99}', victim.pk])

    report = audit_verify()
    assert not report.ok
    assert report.broken_sequence == victim.sequence
    assert "altered" in report.reason
    with pytest.raises(CommandError, match=f"BROKEN at entry #{victim.sequence}"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_verify_finds_a_removed_entry() -> None:
    entries = [audit_append(action=f"test.gap.{n}") for n in range(3)]
    _tamper("DELETE FROM compliance_auditentry WHERE id = %s", [entries[1].pk])
    report = audit_verify()
    assert report.broken_sequence == entries[1].sequence
    assert "missing" in report.reason


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain() -> None:
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
    report = audit_verify()
    assert report.ok
    assert AuditEntry.objects.filter(action__startswith="test.thread.").count() == 40
