"""One entry as its detail page shows it: what changed (before and after, redacted), the rest, its chain place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..audit import canonical_json, redact
from ..models import AuditEntry

# How services write a change into an entry's data: {"before": {...}, "after": {...}}, a pair of
# plain values, or `old_<field>` beside `<field>`.
PAIRS = (("before", "after"), ("from", "to"), ("old", "new"))


@dataclass(frozen=True)
class Change:
    """One field's value before and after the change an entry records."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class EntryDetail:
    """An entry with its data split into the change it records and everything else, all redacted."""

    entry: AuditEntry
    changes: list[Change]
    details: list[tuple[str, str]]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else canonical_json(value)


def _split(data: dict[str, Any]) -> tuple[list[Change], dict[str, Any]]:
    """Return the before/after pairs found in `data` and what is left of it."""
    rest = dict(data)
    changes: list[Change] = []
    for before_key, after_key in PAIRS:
        if before_key in rest and after_key in rest:
            before, after = rest.pop(before_key), rest.pop(after_key)
            if isinstance(before, dict) and isinstance(after, dict):
                for field in sorted(set(before) | set(after)):
                    changes.append(Change(field, _shown(before.get(field, "")), _shown(after.get(field, ""))))
            else:
                changes.append(Change(f"{before_key} → {after_key}", _shown(before), _shown(after)))
    for key in sorted(rest):
        if key in rest and key.startswith("old_") and key[4:] in rest:
            changes.append(Change(key[4:], _shown(rest.pop(key)), _shown(rest.pop(key[4:]))))
    return changes, rest


def entry_detail(*, pk: int) -> EntryDetail | None:
    """Return the entry `pk` ready for its page, or None if there is none."""
    entry = AuditEntry.objects.select_related("link").filter(pk=pk).first()
    if entry is None:
        return None
    # Redacted again on the way out: the rule may have learnt a key since the entry was written.
    data = redact(entry.data)
    changes, rest = _split(data if isinstance(data, dict) else {"data": data})
    return EntryDetail(entry, changes, [(key, _shown(value)) for key, value in sorted(rest.items())])
