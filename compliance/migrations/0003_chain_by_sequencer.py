"""Entries stop locking a shared head: each carries its own hash, and a sequencer links them into the chain.

Existing entries keep their order: each gets its content hash and a link at its old sequence number,
chained anew, before the old per-entry chain columns go. On PostgreSQL `txid` defaults to the writing
transaction's id. The triggers move to every table of the trail (`compliance.triggers` as of this
migration; if that module changes, freeze a copy here as 0002 does).
"""

import datetime as dt
import hashlib
import importlib
import json
from typing import Any

import django.db.models.deletion
from django.db import migrations, models

GENESIS_HASH = "0" * 64
FIELDS = ["created_at", "actor_type", "actor_id", "actor_label", "action", "target_type", "target_id",
          "target_label", "data_json", "ip"]  # fmt: skip
CURRENT_TRIGGERS = {
    "postgresql": [
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
            for table in ("compliance_auditentry", "compliance_auditchainlink", "compliance_auditcheckpoint")
            for statement in (
                f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION compliance_audit_refuse_change();",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION compliance_audit_refuse_change();",
            )
        ),
    ],
    "sqlite": [
        statement
        for table in ("compliance_auditentry", "compliance_auditchainlink", "compliance_auditcheckpoint")
        for statement in (
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END;",
        )
    ],
}


def _legacy() -> Any:
    return importlib.import_module("compliance.migrations.0002_append_only")


def drop_legacy_triggers(apps: Any, schema_editor: Any) -> None:
    legacy = _legacy()
    removes = {"postgresql": legacy.POSTGRESQL_REMOVE, "sqlite": legacy.SQLITE_REMOVE}
    for statement in removes.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def _content_hash(row: dict[str, Any]) -> str:
    created_at = row["created_at"]
    if isinstance(created_at, str):  # SQLite hands raw rows back as text
        created_at = dt.datetime.fromisoformat(created_at)
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=dt.UTC)
    values = [created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")]
    values += [str(row[name] or "") for name in FIELDS[1:]]
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_existing_entries(apps: Any, schema_editor: Any) -> None:
    Entry = apps.get_model("compliance", "AuditEntry")
    Link = apps.get_model("compliance", "AuditChainLink")
    Head = apps.get_model("compliance", "AuditChainHead")
    previous, size = GENESIS_HASH, 0
    with schema_editor.connection.cursor() as cursor:
        for row in Entry.objects.order_by("id").values("id", "sequence", *FIELDS).iterator(chunk_size=2000):
            content = _content_hash(row)
            cursor.execute("UPDATE compliance_auditentry SET content_hash = %s WHERE id = %s", [content, row["id"]])
            size += 1
            previous = hashlib.sha256(f"{size}:{previous}:{content}".encode("ascii")).hexdigest()
            Link.objects.create(position=size, entry_id=row["id"], chain_hash=previous)
    Head.objects.update_or_create(id=1, defaults={"size": size, "chain_hash": previous, "watermark": 0})


def txid_default(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE compliance_auditentry ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)",
            params=None,
        )


def install_triggers(apps: Any, schema_editor: Any) -> None:
    for statement in CURRENT_TRIGGERS.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_append_only")]

    operations = [
        migrations.RunPython(drop_legacy_triggers, migrations.RunPython.noop),
        migrations.AddField(
            model_name="auditentry",
            name="content_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="txid",
            field=models.BigIntegerField(db_default=0, db_index=True, editable=False),
        ),
        migrations.CreateModel(
            name="AuditChainLink",
            fields=[
                ("position", models.BigIntegerField(editable=False, primary_key=True, serialize=False)),
                ("chain_hash", models.CharField(editable=False, max_length=64)),
                (
                    "entry",
                    models.OneToOneField(
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="link",
                        to="compliance.auditentry",
                    ),
                ),
            ],
            options={
                "ordering": ["position"],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("position__gte", 1)), name="audit_position_positive")
                ],
            },
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("size", models.BigIntegerField(editable=False)),
                ("chain_hash", models.CharField(editable=False, max_length=64)),
                ("signed_at", models.DateTimeField(editable=False)),
                ("key_id", models.CharField(editable=False, max_length=16)),
                ("signature", models.CharField(editable=False, max_length=128)),
            ],
            options={"ordering": ["-size"], "get_latest_by": "size"},
        ),
        migrations.RenameField(model_name="auditchainhead", old_name="sequence", new_name="size"),
        migrations.RenameField(model_name="auditchainhead", old_name="entry_hash", new_name="chain_hash"),
        migrations.AddField(model_name="auditchainhead", name="watermark", field=models.BigIntegerField(default=0)),
        migrations.RunPython(link_existing_entries, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="auditentry", name="audit_sequence_positive"),
        migrations.AlterModelOptions(
            name="auditentry",
            options={"ordering": ["-id"], "verbose_name": "audit entry", "verbose_name_plural": "audit entries"},
        ),
        migrations.RemoveField(model_name="auditentry", name="sequence"),
        migrations.RemoveField(model_name="auditentry", name="prev_hash"),
        migrations.RemoveField(model_name="auditentry", name="entry_hash"),
        migrations.RunPython(txid_default, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, migrations.RunPython.noop),
    ]
