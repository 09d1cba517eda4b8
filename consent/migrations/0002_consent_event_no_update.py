"""Make consent events unchangeable in the database too: UPDATE is refused (PostgreSQL and SQLite).

DELETE stays possible, so that erasing a person (and test flushes) can remove their history; the
hash-chained audit trail keeps the record of every change either way.
"""

from typing import Any

from django.db import migrations

TABLE = "consent_consentevent"

INSTALL = {
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION consent_event_refuse_update() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'consent events are immutable: UPDATE refused' USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql;
        """,
        f"""
        CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION consent_event_refuse_update();
        """,
    ],
    "sqlite": [
        f"""
        CREATE TRIGGER IF NOT EXISTS consent_event_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'consent events are immutable: UPDATE refused'); END;
        """,
    ],
}
REMOVE = {
    "postgresql": [
        f"DROP TRIGGER IF EXISTS consent_event_no_update ON {TABLE};",
        "DROP FUNCTION IF EXISTS consent_event_refuse_update();",
    ],
    "sqlite": ["DROP TRIGGER IF EXISTS consent_event_no_update;"],
}


def install(apps: Any, schema_editor: Any) -> None:
    for statement in INSTALL.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def remove(apps: Any, schema_editor: Any) -> None:
    for statement in REMOVE.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
