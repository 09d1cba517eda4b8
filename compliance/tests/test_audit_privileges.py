"""The portal's database role may append to and read the audit trail, and nothing more (PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from io import StringIO
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from compliance.audit.privileges import audit_privileges_check, privilege_findings

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles are PostgreSQL's")


def _connect(**extra: Any) -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        autocommit=True,
        **{"user": settings["USER"], **extra},
    )


@pytest.fixture
def owner(db: None) -> Iterator[psycopg.Connection[Any]]:
    """The role that ran the migrations (the suite's own), connected outside the test's transaction."""
    with _connect() as conn:
        yield conn


@pytest.fixture
def app_role(owner: psycopg.Connection[Any]) -> Iterator[str]:
    """A fresh login role, set up with exactly the statements `manage.py audit_grants` prints."""
    role = f"portal_app_{uuid.uuid4().hex[:8]}"
    owner.execute(f'CREATE ROLE "{role}" LOGIN')
    out = StringIO()
    call_command("audit_grants", role, stdout=out)
    try:
        for statement in out.getvalue().splitlines():
            owner.execute(statement)
        yield role
    finally:
        owner.execute(f'DROP OWNED BY "{role}"')
        owner.execute(f'DROP ROLE "{role}"')


def test_the_role_set_up_by_audit_grants_passes_the_check(app_role: str) -> None:
    with _connect(user=app_role) as conn, conn.cursor() as cursor:
        assert privilege_findings(cursor) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE compliance_auditentry SET action = 'x' WHERE false",
        "DELETE FROM compliance_auditentry WHERE false",
        "TRUNCATE compliance_auditentry",
        "DELETE FROM compliance_auditchainlink WHERE false",
        "UPDATE compliance_auditcheckpoint SET size = 0 WHERE false",
        "DELETE FROM compliance_auditchainhead WHERE false",
        "ALTER TABLE compliance_auditentry DISABLE TRIGGER ALL",
        "DROP TRIGGER compliance_auditentry_no_update_delete ON compliance_auditentry",
    ],
)
def test_that_role_cannot_change_or_unguard_the_trail(app_role: str, statement: str) -> None:
    with _connect(user=app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_that_role_can_append_read_and_move_the_head(app_role: str) -> None:
    with _connect(user=app_role) as conn:
        conn.execute("SELECT count(*) FROM compliance_auditentry")
        conn.execute("UPDATE compliance_auditchainhead SET size = size WHERE false")
        assert conn.execute("SELECT has_table_privilege('compliance_auditentry', 'INSERT')").fetchone() == (True,)
        # Erasure's columns, and only those (the trigger then checks the shape of the change).
        conn.execute("UPDATE compliance_auditentry SET actor_label = '[erased]', personal_salt = '' WHERE false")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE compliance_auditentry SET content_hash = '' WHERE false")


def test_each_extra_privilege_or_ownership_is_named(owner: psycopg.Connection[Any], app_role: str) -> None:
    owner.execute(f'GRANT UPDATE ON compliance_auditentry TO "{app_role}"')
    owner.execute(f'REVOKE INSERT ON compliance_auditcheckpoint FROM "{app_role}"')
    owner.execute(f'ALTER TABLE compliance_auditchainlink OWNER TO "{app_role}"')
    try:
        with _connect(user=app_role) as conn, conn.cursor() as cursor:
            findings = privilege_findings(cursor)
    finally:
        owner.execute(f"ALTER TABLE compliance_auditchainlink OWNER TO {connection.settings_dict['USER']}")
    assert findings == [
        f"The portal's role {app_role} may UPDATE on compliance_auditentry; it must not.",
        f"The portal's role {app_role} owns compliance_auditchainlink and can switch off its triggers.",
        f"The portal's role {app_role} may UPDATE on compliance_auditchainlink; it must not.",
        f"The portal's role {app_role} may DELETE on compliance_auditchainlink; it must not.",
        f"The portal's role {app_role} may TRUNCATE on compliance_auditchainlink; it must not.",
        f"The portal's role {app_role} may TRIGGER on compliance_auditchainlink; it must not.",
        f"The portal's role {app_role} may REFERENCES on compliance_auditchainlink; it must not.",
        f"The portal's role {app_role} may not INSERT on compliance_auditcheckpoint; the trail needs it.",
    ]


def test_the_deploy_check_refuses_a_superuser_connection(db: None) -> None:
    # The suite itself connects as the cluster's superuser: exactly what production must not do.
    messages = audit_privileges_check(databases=["default"])
    assert [message.id for message in messages] == ["compliance.E001"]
    assert "superuser" in messages[0].msg
    assert "audit_grants" in (messages[0].hint or "")


def test_a_role_that_cannot_erase_is_named(owner: psycopg.Connection[Any], app_role: str) -> None:
    owner.execute(f'REVOKE UPDATE (data_json) ON compliance_auditentry FROM "{app_role}"')
    with _connect(user=app_role) as conn, conn.cursor() as cursor:
        findings = privilege_findings(cursor)
    assert findings == [
        f"The portal's role {app_role} may not UPDATE compliance_auditentry.data_json; erasure needs it."
    ]
