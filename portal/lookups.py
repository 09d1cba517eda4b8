"""Lookups the ORM lacks: `__any`, a list of ids sent as one array parameter on PostgreSQL."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models.lookups import In


class AnyOf(In):
    """`field__any=ids`: `field = ANY(%s)` with the ids as one array on PostgreSQL, `IN (...)` elsewhere.

    Delivery's batches filter by up to 500 ids at a time. As 500 placeholders, each is prepared by
    Django and adapted by psycopg on every query, and the query text differs with every length; as
    one array parameter that work is done once. The values must already be of the field's type
    (integers for ids): they are not prepared one by one.
    """

    lookup_name = "any"

    def get_prep_lookup(self) -> Any:
        if isinstance(self.rhs, list | tuple | set | frozenset):
            return [value for value in self.rhs if value is not None]
        return super().get_prep_lookup()

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        if not isinstance(self.rhs, list):
            return self.as_sql(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, self.rhs)


models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)  # foreign keys look up their own class lookups only
