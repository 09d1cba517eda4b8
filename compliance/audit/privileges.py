"""The rule for what the portal's own database role may do to the audit tables, and its check.

The triggers of `compliance.triggers` refuse UPDATE, DELETE and TRUNCATE, but a table's owner (or a
superuser) can switch them off. So in production the web and worker processes connect as a role
that may only INSERT and SELECT the trail, owns nothing, and is no superuser; migrations run as
another role that owns the tables. `manage.py audit_grants` prints the statements that set this up,
and `manage.py check --deploy --database default` (the check below) names every way it does not hold.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import connections
from django.db.backends.utils import CursorWrapper

from compliance.triggers import TABLES

# The chain head is the sequencer's bookmark: it moves forward (UPDATE), but is never deleted.
HEAD = "compliance_auditchainhead"
NEEDED = {**dict.fromkeys(TABLES, ("SELECT", "INSERT")), HEAD: ("SELECT", "INSERT", "UPDATE")}
REFUSED = {
    **dict.fromkeys(TABLES, ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")),
    HEAD: ("DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"),
}
# Erasure (`compliance.data_requests.erasure`) rewrites these columns of an entry, and only these (the
# entries' trigger checks the shape): the role may UPDATE them, never the table.
ERASABLE = ("actor_label", "target_label", "data_json", "ip", "personal_salt", "personal_commitment")
ENTRIES = TABLES[0]
FIX = "Serve as a role that only inserts and reads the trail: `manage.py audit_grants <role>` prints the statements."


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_statements(role: str, database: str) -> list[str]:
    """Return the SQL, to run as the owner role after `migrate`, that lets `role` serve the portal."""
    app, tables = _quoted(role), ", ".join(NEEDED)
    return [
        f"GRANT CONNECT ON DATABASE {_quoted(database)} TO {app};",
        f"GRANT USAGE ON SCHEMA public TO {app};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app};",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app};",
        f"REVOKE ALL ON {tables} FROM {app};",
        *(f"GRANT {', '.join(privileges)} ON {table} TO {app};" for table, privileges in NEEDED.items()),
        f"GRANT UPDATE ({', '.join(ERASABLE)}) ON {ENTRIES} TO {app};",
    ]


def privilege_findings(cursor: CursorWrapper | Any) -> list[str]:
    """Return, in sentences, each way the role of this PostgreSQL connection breaks the rule (none: it holds)."""
    cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    role, superuser = cursor.fetchone()
    if superuser:
        return [f"The portal connects as {role}, a superuser, who can switch off the audit trail's triggers."]
    findings = []
    cursor.execute(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)",
        [list(NEEDED)],
    )
    owners = dict(cursor.fetchall())
    for table in NEEDED:
        if table not in owners:
            findings.append(f"The table {table} is missing: run `manage.py migrate` as the owner role first.")
            continue
        if owners[table] == role or _member_of(cursor, role, owners[table]):
            findings.append(f"The portal's role {role} owns {table} and can switch off its triggers.")
        for privilege in NEEDED[table]:
            if not _has(cursor, role, table, privilege):
                findings.append(f"The portal's role {role} may not {privilege} on {table}; the trail needs it.")
        for privilege in REFUSED[table]:
            if _has(cursor, role, table, privilege):
                findings.append(f"The portal's role {role} may {privilege} on {table}; it must not.")
    if ENTRIES in owners:
        for column in ERASABLE:
            cursor.execute("SELECT has_column_privilege(%s, %s, %s, 'UPDATE')", [role, f"public.{ENTRIES}", column])
            if not cursor.fetchone()[0]:
                findings.append(f"The portal's role {role} may not UPDATE {ENTRIES}.{column}; erasure needs it.")
    return findings


def _has(cursor: CursorWrapper | Any, role: str, table: str, privilege: str) -> bool:
    cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, f"public.{table}", privilege])
    return bool(cursor.fetchone()[0])


def _member_of(cursor: CursorWrapper | Any, role: str, owner: str) -> bool:
    # A member of the owning role may act as the owner (SET ROLE), which is as good as owning.
    cursor.execute("SELECT pg_has_role(%s, %s, 'USAGE')", [role, owner])
    return bool(cursor.fetchone()[0])


@checks.register(checks.Tags.database, deploy=True)
def audit_privileges_check(databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`check --deploy --database default`: the serving role may only append to and read the trail."""
    messages: list[checks.CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            findings = privilege_findings(cursor)
        messages += [checks.Error(finding, hint=FIX, id="compliance.E001") for finding in findings]
    return messages
