"""Make the audit table append-only in the database and create the chain's head row.

The statements are the ones this migration first ran, kept here as they were: `compliance.triggers`
describes the tables of today (migration 0003 moves to it).
"""

from typing import Any

from django.db import migrations

GENESIS_HASH = "0" * 64

POSTGRESQL_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION compliance_audit_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER compliance_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON compliance_auditentry
    FOR EACH ROW EXECUTE FUNCTION compliance_audit_refuse_change();
    """,
    """
    CREATE TRIGGER compliance_audit_no_truncate
    BEFORE TRUNCATE ON compliance_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_audit_refuse_change();
    """,
]
POSTGRESQL_REMOVE = [
    "DROP TRIGGER IF EXISTS compliance_audit_no_truncate ON compliance_auditentry;",
    "DROP TRIGGER IF EXISTS compliance_audit_no_update_delete ON compliance_auditentry;",
    "DROP FUNCTION IF EXISTS compliance_audit_refuse_change();",
]

# SQLite has no TRUNCATE; `DELETE FROM` without WHERE fires the row trigger like any delete.
SQLITE_INSTALL = [
    """
    CREATE TRIGGER IF NOT EXISTS compliance_audit_no_update BEFORE UPDATE ON compliance_auditentry
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;
    """,
    """
    CREATE TRIGGER IF NOT EXISTS compliance_audit_no_delete BEFORE DELETE ON compliance_auditentry
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END;
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS compliance_audit_no_update;",
    "DROP TRIGGER IF EXISTS compliance_audit_no_delete;",
]


def _statements(connection: Any, by_vendor: dict[str, list[str]]) -> list[str]:
    return by_vendor.get(connection.vendor, [])


def install(apps: Any, schema_editor: Any) -> None:
    for statement in _statements(
        schema_editor.connection, {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL}
    ):
        schema_editor.execute(statement, params=None)
    apps.get_model("compliance", "AuditChainHead").objects.get_or_create(
        id=1, defaults={"sequence": 0, "entry_hash": GENESIS_HASH}
    )


def remove(apps: Any, schema_editor: Any) -> None:
    for statement in _statements(schema_editor.connection, {"postgresql": POSTGRESQL_REMOVE, "sqlite": SQLITE_REMOVE}):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
