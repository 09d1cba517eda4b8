"""The trail's filters and verification job: the bank and person each entry concerns, keyset indexes, runs.

New entries get `partner_id` and `person_id` from `audit_append` (hashed with the rest); older entries
keep neither and hash as they did. On PostgreSQL the indexes are built CONCURRENTLY, so appends are
not held up while a large trail is indexed. The one-column index on `action` gives way to (action, id);
it is dropped by name, since altering the field would make SQLite rebuild the table and lose its
append-only triggers.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

BY_PERSON = models.Q(("actor_type", "user"))


class AddIndex(AddIndexConcurrently):
    """Build the index without blocking writes on PostgreSQL; plainly elsewhere."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class RemoveIndex(RemoveIndexConcurrently):
    """Drop the index without blocking writes on PostgreSQL; plainly elsewhere."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


def drop_action_index(apps: Any, schema_editor: Any) -> None:
    """Drop the one-column indexes on `action` (PostgreSQL has two: plain and LIKE), found by their columns."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "compliance_auditentry")
    for name, info in constraints.items():
        if info["index"] and not info["primary_key"] and not info["unique"] and info["columns"] == ["action"]:
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}", params=None)


def create_action_index(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        "CREATE INDEX compliance_auditentry_action_idx ON compliance_auditentry (action)", params=None
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("compliance", "0003_chain_by_sequencer"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="partner_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="person_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="action",
                    field=models.CharField(editable=False, max_length=100),
                ),
            ],
            database_operations=[migrations.RunPython(drop_action_index, create_action_index)],
        ),
        RemoveIndex(model_name="auditentry", name="audit_target_idx"),
        AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["target_type", "target_id", "id"], name="audit_target_id_idx"),
        ),
        AddIndex(model_name="auditentry", index=models.Index(fields=["action", "id"], name="audit_action_id_idx")),
        AddIndex(
            model_name="auditentry",
            index=models.Index(
                condition=models.Q(("partner_id__isnull", False)),
                fields=["partner_id", "id"],
                name="audit_partner_id_idx",
            ),
        ),
        AddIndex(
            model_name="auditentry",
            index=models.Index(
                condition=models.Q(("person_id__isnull", False)), fields=["person_id", "id"], name="audit_person_id_idx"
            ),
        ),
        AddIndex(
            model_name="auditentry",
            index=models.Index(condition=BY_PERSON, fields=["id"], name="audit_people_id_idx"),
        ),
        AddIndex(
            model_name="auditentry",
            index=models.Index(condition=BY_PERSON, fields=["partner_id", "id"], name="audit_partner_people_idx"),
        ),
        AddIndex(
            model_name="auditentry",
            index=models.Index(condition=BY_PERSON, fields=["actor_id", "id"], name="audit_actor_people_idx"),
        ),
        migrations.CreateModel(
            name="VerificationRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("requested_at", models.DateTimeField(auto_now_add=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Waiting for a worker"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Could not finish"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("checked", models.BigIntegerField(default=0)),
                ("total", models.BigIntegerField(default=0)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("broken_at", models.BigIntegerField(blank=True, null=True)),
                ("reason", models.TextField(blank=True)),
                ("unsealed", models.BigIntegerField(default=0)),
                ("checkpoint_size", models.BigIntegerField(blank=True, null=True)),
                ("checkpoint_signed_at", models.CharField(blank=True, max_length=40)),
                (
                    "requested_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-id"]},
        ),
    ]
