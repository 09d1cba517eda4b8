"""Data-subject requests, and audit entries whose personal fields can be erased while the chain verifies.

New entries carry a random `personal_salt`; their hash covers the salted commitment to the labels, data
and address (`compliance.audit.entries.content_hash`), so erasure replaces those by the commitment and
the entry still verifies. Existing entries have no salt and hash as they did. The entries' UPDATE trigger
now lets exactly that erasure through (`compliance.triggers` as of this migration, frozen here).
"""

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

TRIGGERS = {
    "postgresql": {
        "remove": [
            "DROP TRIGGER IF EXISTS compliance_auditentry_no_update_delete ON compliance_auditentry;",
        ],
        "install": [
            "CREATE OR REPLACE FUNCTION compliance_audit_erasure_only() RETURNS trigger AS $$\n"
            "   BEGIN\n"
            "       IF \n"
            "   OLD.personal_salt <> '' AND NEW.personal_salt = '' AND OLD.personal_commitment = ''\n"
            "   AND NEW.personal_commitment <> ''\n"
            "   AND NEW.actor_label = '[erased]' AND NEW.target_label = '[erased]'\n"
            "   AND NEW.data_json = '{\"erased\":true}' AND NEW.ip IS NULL\n"
            "   AND NEW.id = OLD.id AND NEW.created_at = OLD.created_at AND NEW.actor_type = OLD.actor_type\n"
            "   AND NEW.actor_id = OLD.actor_id AND NEW.action = OLD.action AND NEW.target_type = OLD.target_type\n"
            "   AND NEW.target_id = OLD.target_id AND NEW.content_hash = OLD.content_hash AND NEW.txid = OLD.txid\n"
            "   AND NEW.partner_id IS NOT DISTINCT FROM OLD.partner_id AND NEW.person_id IS NOT DISTINCT FROM "
            "OLD.person_id\n"
            "THEN\n"
            "           RETURN NEW;\n"
            "       END IF;\n"
            "       RAISE EXCEPTION 'the audit trail is append-only: UPDATE refused (only erasure may rewrite an "
            "entry)'\n"
            "           USING ERRCODE = 'insufficient_privilege';\n"
            "   END;\n"
            "   $$ LANGUAGE plpgsql;",
            "CREATE TRIGGER compliance_auditentry_erasure_only\n"
            "BEFORE UPDATE ON compliance_auditentry\n"
            "FOR EACH ROW EXECUTE FUNCTION compliance_audit_erasure_only();",
            "CREATE TRIGGER compliance_auditentry_no_update_delete\n"
            "BEFORE DELETE ON compliance_auditentry\n"
            "FOR EACH ROW EXECUTE FUNCTION compliance_audit_refuse_change();",
        ],
        "backwards": [
            "DROP TRIGGER IF EXISTS compliance_auditentry_erasure_only ON compliance_auditentry;",
            "DROP TRIGGER IF EXISTS compliance_auditentry_no_update_delete ON compliance_auditentry;",
            "DROP FUNCTION IF EXISTS compliance_audit_erasure_only();",
            "CREATE TRIGGER compliance_auditentry_no_update_delete BEFORE UPDATE OR DELETE ON compliance_auditentry "
            "FOR EACH ROW EXECUTE FUNCTION compliance_audit_refuse_change();",
        ],
    },
    "sqlite": {
        "remove": ["DROP TRIGGER IF EXISTS compliance_auditentry_no_update;"],
        "install": [
            "CREATE TRIGGER IF NOT EXISTS compliance_auditentry_no_update BEFORE UPDATE ON compliance_auditentry\n"
            "        WHEN NOT (\n"
            "    OLD.personal_salt <> '' AND NEW.personal_salt = '' AND OLD.personal_commitment = ''\n"
            "    AND NEW.personal_commitment <> ''\n"
            "    AND NEW.actor_label = '[erased]' AND NEW.target_label = '[erased]'\n"
            "    AND NEW.data_json = '{\"erased\":true}' AND NEW.ip IS NULL\n"
            "    AND NEW.id = OLD.id AND NEW.created_at = OLD.created_at AND NEW.actor_type = OLD.actor_type\n"
            "    AND NEW.actor_id = OLD.actor_id AND NEW.action = OLD.action AND NEW.target_type = OLD.target_type\n"
            "    AND NEW.target_id = OLD.target_id AND NEW.content_hash = OLD.content_hash AND NEW.txid = OLD.txid\n"
            "    AND NEW.partner_id IS OLD.partner_id AND NEW.person_id IS OLD.person_id\n"
            ")\n"
            "        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;",
            # Adding a column rebuilds the table on SQLite, which drops its triggers: put the other back too.
            "CREATE TRIGGER IF NOT EXISTS compliance_auditentry_no_delete BEFORE DELETE ON compliance_auditentry "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END;",
        ],
        "backwards": [
            "DROP TRIGGER IF EXISTS compliance_auditentry_no_update;",
            "CREATE TRIGGER IF NOT EXISTS compliance_auditentry_no_update BEFORE UPDATE ON compliance_auditentry "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;",
        ],
    },
}


def _run(schema_editor: Any, step: str) -> None:
    for statement in TRIGGERS.get(schema_editor.connection.vendor, {}).get(step, []):
        schema_editor.execute(statement)


def remove_update_trigger(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, "remove")


def install_erasure_trigger(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, "install")


def restore_update_trigger(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, "backwards")


def noop(apps: Any, schema_editor: Any) -> None:
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0004_trail_concerns_and_verification_runs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(remove_update_trigger, restore_update_trigger),
        migrations.AddField(
            model_name="auditentry",
            name="personal_commitment",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="personal_salt",
            field=models.CharField(blank=True, default="", editable=False, max_length=32),
        ),
        migrations.CreateModel(
            name="DataRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("archive", "Copy of their data"), ("erasure", "Erasure")], max_length=16
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=300)),
                ("reference", models.CharField(blank=True, max_length=100)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "Waiting for a worker"),
                            ("running", "Being prepared"),
                            ("ready", "Ready to download"),
                            ("done", "Done"),
                            ("failed", "Could not finish"),
                            ("expired", "Expired (the file was deleted)"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("done", models.BigIntegerField(default=0)),
                ("total", models.BigIntegerField(default=0)),
                ("file_name", models.CharField(blank=True, max_length=200)),
                ("file_size", models.BigIntegerField(default=0)),
                ("file_sha256", models.CharField(blank=True, max_length=64)),
                ("error", models.CharField(blank=True, max_length=300)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                (
                    "requested_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="data_requests_made",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="data_requests",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "indexes": [
                    models.Index(fields=["user", "-created_at"], name="compliance_dreq_user_idx"),
                    models.Index(fields=["state", "expires_at"], name="compliance_dreq_expiry_idx"),
                ],
            },
        ),
        migrations.RunPython(install_erasure_trigger, noop),
    ]
