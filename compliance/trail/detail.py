"""One entry as its detail page shows it: what changed (before and after, redacted), the rest, its chain place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..audit import GENESIS_HASH, canonical_json, chain_hash, content_hash, redact
from ..audit.entries import HASHED_FIELDS
from ..models import AuditChainLink, AuditEntry

# What an entry's own seal shows: its hash matches its contents and its link the one before it;
# either does not; or the sequencer has not linked it yet. The whole chain is proven by "Verify".
SEALED, BROKEN, UNSEALED = "sealed", "broken", "unsealed"
# Request details services record in an entry's data, shown with the address.
REQUEST_KEYS = ("request_id", "user_agent")

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
    request: list[tuple[str, str]]
    seal: str

    @property
    def position(self) -> int | None:
        """Return the entry's place in the chain, or None while it waits for the sequencer."""
        return self.entry.position


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


def entry_seal(entry: AuditEntry) -> str:
    """Return whether the entry's hash matches its contents and its link follows the link before it."""
    position = entry.position
    if position is None:
        return UNSEALED
    content = content_hash([getattr(entry, name) for name in HASHED_FIELDS])
    if content != entry.content_hash:
        return BROKEN
    previous = (
        GENESIS_HASH
        if position == 1
        else AuditChainLink.objects.filter(position=position - 1).values_list("chain_hash", flat=True).first()
    )
    return (
        SEALED if previous is not None and chain_hash(position, previous, content) == entry.link.chain_hash else BROKEN
    )


def entry_detail(*, pk: int, partner_id: int | None = None) -> EntryDetail | None:
    """Return the entry `pk` ready for its page (only if it concerns `partner_id`, when given), or None."""
    entries = AuditEntry.objects.select_related("link").filter(pk=pk)
    if partner_id is not None:
        entries = entries.filter(partner_id=partner_id)
    entry = entries.first()
    if entry is None:
        return None
    # Redacted again on the way out: the rule may have learnt a key since the entry was written.
    data = redact(entry.data)
    data = data if isinstance(data, dict) else {"data": data}
    request = [(key, _shown(data.pop(key))) for key in REQUEST_KEYS if key in data]
    changes, rest = _split(data)
    details = [(key, _shown(value)) for key, value in sorted(rest.items())]
    return EntryDetail(entry, changes, details, request, entry_seal(entry))
