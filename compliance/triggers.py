"""SQL that makes the audit tables append-only inside the database, per database vendor.

Migrations that install these keep a copy of the statements they ran (0002), since this module moves on.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

# Every table of the trail: the entries, their links into the chain, and the signed checkpoints.
TABLES = ("compliance_auditentry", "compliance_auditchainlink", "compliance_auditcheckpoint")

POSTGRESQL_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION compliance_audit_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    *(
        statement
        for table in TABLES
        for statement in (
            f"""
            CREATE TRIGGER {table}_no_update_delete
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION compliance_audit_refuse_change();
            """,
            f"""
            CREATE TRIGGER {table}_no_truncate
            BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION compliance_audit_refuse_change();
            """,
        )
    ),
]
POSTGRESQL_REMOVE = [
    *(
        statement
        for table in TABLES
        for statement in (
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
            f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};",
        )
    ),
    "DROP FUNCTION IF EXISTS compliance_audit_refuse_change();",
]

# SQLite has no TRUNCATE; `DELETE FROM` without WHERE fires the row trigger like any delete.
SQLITE_INSTALL = [
    statement
    for table in TABLES
    for statement in (
        f"""
        CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;
        """,
        f"""
        CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END;
        """,
    )
]
SQLITE_REMOVE = [
    statement
    for table in TABLES
    for statement in (f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;")
]


def install_statements(connection: BaseDatabaseWrapper) -> list[str]:
    """Return the statements that make the audit table append-only on this database."""
    return {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL}.get(connection.vendor, [])


def remove_statements(connection: BaseDatabaseWrapper) -> list[str]:
    """Return the statements that undo `install_statements`."""
    return {"postgresql": POSTGRESQL_REMOVE, "sqlite": SQLITE_REMOVE}.get(connection.vendor, [])
