"""SQL that makes the audit tables append-only inside the database, per database vendor.

Migrations that install these keep a copy of the statements they ran (0002), since this module moves on.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

# Every table of the trail: the entries, their links into the chain, and the signed checkpoints.
TABLES = ("compliance_auditentry", "compliance_auditchainlink", "compliance_auditcheckpoint")
ENTRIES = TABLES[0]
# The one UPDATE an entry allows: erasure (`compliance.data_requests.erasure`) replaces the personal
# fields by their marks and the salt by the commitment the hash already covered; nothing else moves.
# The values are SQL literals of `compliance.audit.entries.ERASED_LABEL` and `ERASED_DATA`.
ERASURE_SHAPE = """
    OLD.personal_salt <> '' AND NEW.personal_salt = '' AND OLD.personal_commitment = ''
    AND NEW.personal_commitment <> ''
    AND NEW.actor_label = '[erased]' AND NEW.target_label = '[erased]'
    AND NEW.data_json = '{"erased":true}' AND NEW.ip IS NULL
    AND NEW.id = OLD.id AND NEW.created_at = OLD.created_at AND NEW.actor_type = OLD.actor_type
    AND NEW.actor_id = OLD.actor_id AND NEW.action = OLD.action AND NEW.target_type = OLD.target_type
    AND NEW.target_id = OLD.target_id AND NEW.content_hash = OLD.content_hash AND NEW.txid = OLD.txid
    AND NEW.partner_id IS_SAME OLD.partner_id AND NEW.person_id IS_SAME OLD.person_id
"""

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
    CREATE OR REPLACE FUNCTION compliance_audit_erasure_only() RETURNS trigger AS $$
    BEGIN
        IF {ERASURE_SHAPE.replace("IS_SAME", "IS NOT DISTINCT FROM")} THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'the audit trail is append-only: UPDATE refused (only erasure may rewrite an entry)'
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE TRIGGER {ENTRIES}_erasure_only
    BEFORE UPDATE ON {ENTRIES}
    FOR EACH ROW EXECUTE FUNCTION compliance_audit_erasure_only();
    """,
    *(
        statement
        for table in TABLES
        for statement in (
            f"""
            CREATE TRIGGER {table}_no_update_delete
            BEFORE {"DELETE" if table == ENTRIES else "UPDATE OR DELETE"} ON {table}
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
    f"DROP TRIGGER IF EXISTS {ENTRIES}_erasure_only ON {ENTRIES};",
    "DROP FUNCTION IF EXISTS compliance_audit_refuse_change();",
    "DROP FUNCTION IF EXISTS compliance_audit_erasure_only();",
]

# SQLite has no TRUNCATE; `DELETE FROM` without WHERE fires the row trigger like any delete.
SQLITE_INSTALL = [
    statement
    for table in TABLES
    for statement in (
        f"""
        CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
        {f"WHEN NOT ({ERASURE_SHAPE.replace('IS_SAME', 'IS')})" if table == ENTRIES else ""}
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
