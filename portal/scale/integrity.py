"""Checks of a seeded world: every foreign key of the world's tables points at a row, and what each table holds."""

from __future__ import annotations

from typing import Any

# Every table the world writes (the chain link's key is its position, every other key is `id`).
TABLES = (
    "portal_user",
    "portal_user_groups",
    "otp_totp_totpdevice",
    "partners_partner",
    "partners_partnermembership",
    "partners_partneruserobjectpermission",
    "partners_usageterms",
    "partners_termsacceptance",
    "partners_datascope",
    "partners_datascopeversion",
    "partners_partnerapikey",
    "partners_webhookendpoint",
    "consent_accountlink",
    "consent_consentgrant",
    "consent_consentevent",
    "delivery_partnerevent",
    "delivery_delivery",
    "delivery_deliveryattempt",
    "delivery_inboxmessage",
    "compliance_auditentry",
    "compliance_auditchainlink",
)


def foreign_keys(cursor: Any) -> list[tuple[str, str, str, str]]:
    """Return (table, column, referenced table, referenced column) for each single-column key of the world's tables."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1 AND c.conrelid::regclass::text = ANY(%s)
        ORDER BY 1, 2
        """,
        [list(TABLES)],
    )
    return [tuple(row) for row in cursor.fetchall()]


def dangling_references(cursor: Any) -> dict[str, int]:
    """Return, per `table.column`, how many rows point at a row that does not exist (empty when all hold).

    The world is loaded with foreign-key triggers off (it is much faster), so this is its proof.
    """
    found = {}
    for table, column, target, target_column in foreign_keys(cursor):
        cursor.execute(
            f'SELECT count(*) FROM {table} t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM {target} r WHERE r."{target_column}" = t."{column}")'
        )
        missing = int(cursor.fetchone()[0])
        if missing:
            found[f"{table}.{column}"] = missing
    return found


def row_counts(cursor: Any) -> dict[str, int]:
    """Return how many rows each of the world's tables holds."""
    counts = {}
    for table in TABLES:
        cursor.execute(f"SELECT count(*) FROM {table}")
        counts[table] = int(cursor.fetchone()[0])
    return counts
