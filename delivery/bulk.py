"""Bulk inserts of the delivery hot path: PostgreSQL's COPY where it runs, `bulk_create` elsewhere.

Intake stores up to 500 events and their outbox rows per request and every batch logs its attempts;
through the ORM's INSERT that is most of their time, through COPY a sixth of it (`bench/delivery.py`).
The rows are model instances built as usual; only the statement that writes them differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models
from psycopg.types.json import Jsonb

M = TypeVar("M", bound=models.Model)


def _value(field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(field, models.JSONField) and value is not None:
        return Jsonb(value)
    return value


def bulk_insert(objs: Sequence[M], *, with_ids: bool = False) -> list[M]:
    """Insert `objs` in one statement and return them; `with_ids` gives each its primary key first.

    On PostgreSQL the ids come from the table's sequence (one query) and the rows travel by COPY;
    a constraint it breaks raises Django's IntegrityError as `bulk_create` would.
    """
    if not objs:
        return []
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    meta = model._meta
    fields = [field for field in meta.concrete_fields if with_ids or not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if with_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(objs)],
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([_value(field, getattr(obj, field.attname)) for field in fields])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)
