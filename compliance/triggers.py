"""SQL that makes the audit table append-only inside the database, per database vendor."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "compliance_auditentry"

POSTGRESQL_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION compliance_audit_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE TRIGGER compliance_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION compliance_audit_refuse_change();
    """,
    f"""
    CREATE TRIGGER compliance_audit_no_truncate
    BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_audit_refuse_change();
    """,
]
POSTGRESQL_REMOVE = [
    f"DROP TRIGGER IF EXISTS compliance_audit_no_truncate ON {TABLE};",
    f"DROP TRIGGER IF EXISTS compliance_audit_no_update_delete ON {TABLE};",
    "DROP FUNCTION IF EXISTS compliance_audit_refuse_change();",
]

# SQLite has no TRUNCATE; `DELETE FROM` without WHERE fires the row trigger like any delete.
SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS compliance_audit_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS compliance_audit_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END;
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS compliance_audit_no_update;",
    "DROP TRIGGER IF EXISTS compliance_audit_no_delete;",
]


def install_statements(connection: BaseDatabaseWrapper) -> list[str]:
    """Return the statements that make the audit table append-only on this database."""
    return {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL}.get(connection.vendor, [])


def remove_statements(connection: BaseDatabaseWrapper) -> list[str]:
    """Return the statements that undo `install_statements`."""
    return {"postgresql": POSTGRESQL_REMOVE, "sqlite": SQLITE_REMOVE}.get(connection.vendor, [])
