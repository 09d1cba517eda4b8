"""Make the audit table append-only in the database and create the chain's head row."""

from typing import Any

from django.db import migrations

from compliance.triggers import install_statements, remove_statements

GENESIS_HASH = "0" * 64


def install(apps: Any, schema_editor: Any) -> None:
    for statement in install_statements(schema_editor.connection):
        schema_editor.execute(statement, params=None)
    apps.get_model("compliance", "AuditChainHead").objects.get_or_create(
        id=1, defaults={"sequence": 0, "entry_hash": GENESIS_HASH}
    )


def remove(apps: Any, schema_editor: Any) -> None:
    for statement in remove_statements(schema_editor.connection):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
