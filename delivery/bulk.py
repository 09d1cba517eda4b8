"""Bulk inserts of the delivery hot path: PostgreSQL's COPY where it runs, `bulk_create` elsewhere.

Intake stores up to 500 events and their outbox rows per request and every batch logs its attempts;
through model instances and the ORM's INSERT that is most of their time, through COPY of plain
values a small part of it (`bench/delivery.py`). Fields left out of a row take their model default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from django.db import connection, models
from psycopg.types.json import Jsonb


def _value(field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(field, models.JSONField) and value is not None:
        return Jsonb(value)
    return value


def bulk_insert(model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, with_ids: bool = False) -> list[int]:
    """Insert `rows` (field attnames to values, the same keys in each) in one statement; return their ids.

    With `with_ids` the ids are taken from the table's sequence first (one query) and returned in
    the rows' order; without, nothing is returned. A constraint a row breaks raises Django's
    IntegrityError, as `bulk_create` would, and the transaction keeps none of the rows. Fields'
    `pre_save` does not run, so an `auto_now` field must be given in the rows.
    """
    if not rows:
        return []
    meta = model._meta
    given = set(rows[0])
    unset = [f.name for f in meta.concrete_fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    if any(name not in given for name in unset):
        raise ValueError(f"bulk_insert does not fill auto_now fields: give {', '.join(unset)} in each row.")
    if connection.vendor != "postgresql":
        created = model._default_manager.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in created] if with_ids else []
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    given_fields = [field for field in fields if field.attname in given]
    # Defaults are taken once per call: every row of one insert is written at the same moment.
    defaults = [_value(field, field.get_default()) for field in fields if field.attname not in given]
    columns = [field.column for field in given_fields] + [field.column for field in fields if field not in given_fields]
    if with_ids:
        columns.insert(0, meta.pk.column)
    read = itemgetter(*[field.attname for field in given_fields])
    wrap = [index for index, field in enumerate(given_fields) if isinstance(field, models.JSONField)]
    quote = connection.ops.quote_name
    ids: list[int] = []
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if with_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
        statement = f"COPY {quote(meta.db_table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for index, row in enumerate(rows):
                values = list(read(row)) if len(given_fields) > 1 else [read(row)]
                for position in wrap:
                    if values[position] is not None:
                        values[position] = Jsonb(values[position])
                copy.write_row([ids[index], *values, *defaults] if with_ids else [*values, *defaults])
    return ids
