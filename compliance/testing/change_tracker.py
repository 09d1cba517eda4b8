"""The audit-coverage check's engine: which audited rows each transaction changed, and whether it audited them.

The unit is the outermost atomic block that project code (not a test, not a library) opens: a
service's `transaction.atomic()`. Inside pytest-django's per-test transaction that block is a
savepoint, so "committed" means "released into its parent" there, and a rolled-back block forgets
what it changed. Nested blocks keep their own changes until they close, so a savepoint rolled back
inside a service (a retried insert) does not count against it.

Changes are seen through `post_save`, `m2m_changed` and wrappers of `QuerySet.update`,
`QuerySet.bulk_create`, `QuerySet.bulk_update` and `Collector.delete` (which sends no signal for
fast deletes; wrapping it also keeps Django's fast-delete path, which a `post_delete` receiver would
turn off). Raw SQL (PostgreSQL COPY in `delivery/bulk.py`) is invisible here.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet, signals
from django.db.models.deletion import Collector

from .frames import Where, opener, writers

AUDIT_ENTRY = "compliance.AuditEntry"


@dataclass(frozen=True)
class Change:
    """One write to an audited model: what kind, which fields (None: every field), the values written."""

    model: str
    kind: str  # "create", "save", "update", "delete", "m2m"
    fields: frozenset[str] | None
    values: Mapping[str, Any]
    by: tuple[Where, ...] = ()  # project frames, innermost first
    via: Where | None = None  # the innermost frame outside the ORM, when it is not project code

    def describe(self) -> str:
        """Return the change in words, like `update of is_active, disabled_reason`."""
        return f"{self.kind} of {', '.join(sorted(self.fields))}" if self.fields else self.kind


@dataclass
class Level:
    """One open atomic block on a connection, and what changed inside it so far."""

    root: bool
    opened_at: Where | None = None
    changes: list[Change] = field(default_factory=list)
    audited: bool = False


@dataclass(frozen=True)
class Unaudited:
    """A change that committed with no audit entry in its transaction (`unit` None: no transaction at all)."""

    change: Change
    unit: Where | None


# --- Per-connection state ------------------------------------------------------------------------


class ConnectionState:
    """The open atomic blocks of one connection (connections are per thread)."""

    def __init__(self) -> None:
        self.levels: list[Level] = []
        self.in_unit = False


def state_of(connection: BaseDatabaseWrapper) -> ConnectionState:
    """Return the tracking state kept on `connection`."""
    state: ConnectionState | None = connection.__dict__.get("_audit_coverage")
    if state is None:
        state = connection.__dict__["_audit_coverage"] = ConnectionState()
    return state


class Tracker:
    """Collects unaudited changes; `worth_auditing` decides which writes need an entry at all."""

    def __init__(self, worth_auditing: Callable[[Change], bool], audited_models: frozenset[str]) -> None:
        self.worth_auditing = worth_auditing
        self.audited_models = audited_models
        self.found: list[Unaudited] = []
        self._lock = threading.Lock()
        self._labels: dict[type[Model], str | None] = {}

    def take(self) -> list[Unaudited]:
        """Return and forget what was found since the last call (from any thread)."""
        with self._lock:
            found, self.found = self.found, []
        return found

    def label(self, model: type[Model]) -> str | None:
        """Return the model's label when it is audited (or the audit entry itself), else None."""
        try:
            return self._labels[model]
        except KeyError:
            label = model._meta.label
            wanted = label if label in self.audited_models or label == AUDIT_ENTRY else None
            self._labels[model] = wanted
            return wanted

    # --- what happened ------------------------------------------------------------------------

    def changed(
        self, connection: BaseDatabaseWrapper, model: str, kind: str, fields: Any, values: Mapping[str, Any]
    ) -> None:
        """Note a write to an audited model on `connection`; the call stack says who made it."""
        if model == AUDIT_ENTRY:
            state = state_of(connection)
            if state.levels:
                state.levels[-1].audited = True
            return
        change = Change(model, kind, frozenset(fields) if fields is not None else None, values)
        if not self.worth_auditing(change):
            return
        by, via = writers(sys._getframe(1))
        change = Change(model, kind, change.fields, values, by, via)
        state = state_of(connection)
        if state.in_unit:
            state.levels[-1].changes.append(change)
        elif by:  # project code wrote it outside any transaction of its own: no entry can share it
            self._found([Unaudited(change, None)])

    def entered(self, connection: BaseDatabaseWrapper, caller: FrameType | None) -> None:
        """Open a level for a block just entered; the first one project code opens is the unit."""
        state = state_of(connection)
        opened_at = None if state.in_unit else opener(caller)
        state.levels.append(Level(root=opened_at is not None, opened_at=opened_at))
        state.in_unit = state.in_unit or opened_at is not None

    def leaving(self, connection: BaseDatabaseWrapper) -> Level | None:
        """Close the innermost level before Django's exit runs (and, for a commit, its on-commit hooks)."""
        state = state_of(connection)
        if not state.levels:
            return None
        level = state.levels.pop()
        if level.root:
            state.in_unit = False
        return level

    def left(self, connection: BaseDatabaseWrapper, level: Level) -> None:
        """Settle a level whose block committed (or released its savepoint) into its parent, or check the unit."""
        if level.root:
            if level.changes and not level.audited:
                self._found([Unaudited(change, level.opened_at) for change in _distinct(level.changes)])
            return
        state = state_of(connection)
        if state.levels and state.in_unit:
            parent = state.levels[-1]
            parent.changes += level.changes
            parent.audited = parent.audited or level.audited

    def _found(self, found: list[Unaudited]) -> None:
        with self._lock:
            self.found += found


def _distinct(changes: list[Change]) -> list[Change]:
    seen: dict[tuple[Any, ...], Change] = {}
    for change in changes:
        seen.setdefault((change.model, change.kind, change.fields, change.by[:1]), change)
    return list(seen.values())


# --- Where Django tells us -------------------------------------------------------------------------

_installed: Tracker | None = None


def install(tracker: Tracker, m2m_fields: Mapping[str, tuple[str, str]]) -> None:
    """Start watching with `tracker`: wrap Atomic, the bulk QuerySet writes and Collector.delete; connect signals.

    `m2m_fields` maps "app.Model.field" of a many-to-many field to the label and field name its
    changes count for.
    """
    global _installed
    if _installed is not None:
        _installed.audited_models = tracker.audited_models
        _installed.worth_auditing = tracker.worth_auditing
        return
    _installed = tracker
    _wrap_atomic(tracker)
    _wrap_writes(tracker)
    from django.apps import apps
    from django.db import connections

    def on_save(sender: type[Model], instance: Model, created: bool, update_fields: Any, using: str, **_: Any) -> None:
        label = tracker.label(sender)
        if label is not None:
            values = {k: v for k, v in instance.__dict__.items() if k != "_state"}
            tracker.changed(connections[using], label, "create" if created else "save", update_fields, values)

    signals.post_save.connect(on_save, weak=False, dispatch_uid="audit_coverage.post_save")
    for dotted, (label, name) in m2m_fields.items():
        app_label, model_name, field_name = dotted.split(".")
        through = getattr(apps.get_model(app_label, model_name), field_name).through

        def on_m2m(action: str, using: str, label: str = label, name: str = name, **_: Any) -> None:
            if action in ("post_add", "post_remove", "post_clear"):
                tracker.changed(connections[using], label, "m2m", {name}, {name: action})

        signals.m2m_changed.connect(on_m2m, sender=through, weak=False, dispatch_uid=f"audit_coverage.{dotted}")


def _wrap_atomic(tracker: Tracker) -> None:
    enter, exit_ = transaction.Atomic.__enter__, transaction.Atomic.__exit__

    def __enter__(self: transaction.Atomic) -> None:
        enter(self)
        tracker.entered(transaction.get_connection(self.using), sys._getframe(1))

    def __exit__(self: transaction.Atomic, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        connection = transaction.get_connection(self.using)
        kept = exc_type is None and not connection.needs_rollback
        level = tracker.leaving(connection)
        exit_(self, exc_type, exc_value, traceback)
        if level is not None and kept:
            tracker.left(connection, level)

    transaction.Atomic.__enter__ = __enter__  # type: ignore[method-assign]
    transaction.Atomic.__exit__ = __exit__  # type: ignore[method-assign]


def _wrap_writes(tracker: Tracker) -> None:
    from django.db import connections

    update, bulk_create, bulk_update = QuerySet.update, QuerySet.bulk_create, QuerySet.bulk_update
    collector_delete = Collector.delete

    def wrapped_update(self: QuerySet[Any], **kwargs: Any) -> int:
        rows = update(self, **kwargs)
        label = tracker.label(self.model)
        if rows and label is not None:
            tracker.changed(connections[self.db], label, "update", kwargs, kwargs)
        return rows

    def wrapped_bulk_create(self: QuerySet[Any], objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        created = bulk_create(self, objs, *args, **kwargs)
        label = tracker.label(self.model)
        if label is not None:
            for obj in created:
                tracker.changed(connections[self.db], label, "create", None, obj.__dict__)
        return created

    def wrapped_bulk_update(self: QuerySet[Any], objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        rows = bulk_update(self, objs, fields, *args, **kwargs)
        label = tracker.label(self.model)
        if rows and label is not None:
            for obj in objs:
                tracker.changed(connections[self.db], label, "update", fields, obj.__dict__)
        return rows

    def wrapped_delete(self: Collector) -> tuple[int, dict[str, int]]:
        total, per_model = collector_delete(self)
        for label, count in per_model.items():
            if count and label in tracker.audited_models:
                tracker.changed(connections[self.using], label, "delete", None, {"rows": count})
        return total, per_model

    QuerySet.update = wrapped_update  # type: ignore[method-assign]
    QuerySet.bulk_create = wrapped_bulk_create  # type: ignore[method-assign]
    QuerySet.bulk_update = wrapped_bulk_update  # type: ignore[method-assign]
    Collector.delete = wrapped_delete  # type: ignore[method-assign]
