"""Append to and verify the hash-chained audit trail; imports no other app and is called by all."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .models import AuditChainHead, AuditEntry

GENESIS_HASH = "0" * 64
REDACTED = "[redacted]"
# Values under these keys (or keys ending in `_<one of them>`) never reach the trail.
SECRET_KEYS = frozenset(
    {"password", "secret", "token", "api_key", "authorization", "code_verifier", "raw_key", "cookie"}
)


@dataclass(frozen=True)
class Actor:
    """Who did it: a person, a partner's API key, or the system itself."""

    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """Return the actor for work nobody asked for directly (beat, migrations, expiry)."""
        return cls(type=AuditEntry.ActorType.SYSTEM, label=label)

    @classmethod
    def of(cls, who: Any) -> Actor:
        """Return the actor for a person, an API key (any model with `is_api_key`), or None."""
        if who is None or not getattr(who, "is_authenticated", True):
            return cls.system("anonymous")
        if isinstance(who, Actor):
            return who
        kind = AuditEntry.ActorType.API_KEY if getattr(who, "is_api_key", False) else AuditEntry.ActorType.USER
        return cls(type=kind, id=str(who.pk), label=str(who)[:255])


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def canonical_json(value: Any) -> str:
    """Return `value` as canonical JSON: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SECRET_KEYS or any(lowered.endswith(f"_{secret}") for secret in SECRET_KEYS)


def redact(data: Any) -> Any:
    """Return `data` with the values of secret-looking keys replaced, at any depth."""
    if isinstance(data, Mapping):
        return {str(k): REDACTED if _is_secret_key(str(k)) else redact(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact(item) for item in data]
    return data


def entry_hash(
    *,
    sequence: int,
    created_at: dt.datetime,
    actor_type: str,
    actor_id: str,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    target_label: str,
    data_json: str,
    ip: str | None,
    prev_hash: str,
) -> str:
    """Return the SHA-256 hex digest that seals one entry to its predecessor."""
    payload = canonical_json(
        {
            "sequence": sequence,
            "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": [actor_type, actor_id, actor_label],
            "action": action,
            "target": [target_type, target_id, target_label],
            "data": data_json,
            "ip": ip or "",
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        sequence=entry.sequence,
        created_at=entry.created_at,
        actor_type=entry.actor_type,
        actor_id=entry.actor_id,
        actor_label=entry.actor_label,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        target_label=entry.target_label,
        data_json=entry.data_json,
        ip=entry.ip,
        prev_hash=entry.prev_hash,
    )


def audit_append(
    *,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    data: Mapping[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry to the trail inside the caller's transaction and return it.

    Call it from the service that makes the change, inside the same `transaction.atomic()`, so
    the change and its entry commit or roll back together.
    """
    who = Actor.of(actor)
    data_json = canonical_json(redact(dict(data or {})))
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"sequence": 0, "entry_hash": GENESIS_HASH}
        )
        fields: dict[str, Any] = {
            "sequence": head.sequence + 1,
            # Microseconds survive every backend, so the stored value hashes the same when re-read.
            "created_at": timezone.now().astimezone(dt.UTC),
            "actor_type": who.type,
            "actor_id": who.id,
            "actor_label": who.label,
            "action": action,
            "target_type": target._meta.label_lower if target is not None else "",
            "target_id": str(target.pk) if target is not None else "",
            "target_label": str(target)[:255] if target is not None else "",
            "data_json": data_json,
            "ip": ip or None,
            "prev_hash": head.entry_hash,
        }
        entry = AuditEntry(**fields, entry_hash=entry_hash(**fields))
        entry.save(force_insert=True)
        head.sequence = entry.sequence
        head.entry_hash = entry.entry_hash
        head.save(update_fields=["sequence", "entry_hash"])
    return entry


@dataclass(frozen=True)
class ChainReport:
    """What `audit_verify` found: how many entries were checked and the first break, if any."""

    checked: int
    broken_sequence: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Return True when the whole chain verified."""
        return self.broken_sequence is None


def audit_verify(*, progress: Callable[[int, int], None] | None = None) -> ChainReport:
    """Recompute every hash in order and return where the chain first breaks, if it does."""
    total = AuditEntry.objects.count()
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    entries: Iterator[AuditEntry] = AuditEntry.objects.order_by("sequence").iterator(chunk_size=2000)
    for entry in entries:
        if entry.sequence != expected_sequence:
            return ChainReport(checked, expected_sequence, f"entry #{expected_sequence} is missing")
        if entry.prev_hash != expected_prev:
            return ChainReport(checked, entry.sequence, "its previous-hash does not match the entry before it")
        if _hash_of(entry) != entry.entry_hash:
            return ChainReport(checked, entry.sequence, "its contents do not match its hash (altered)")
        expected_prev = entry.entry_hash
        expected_sequence += 1
        checked += 1
        if progress is not None and (checked % 1000 == 0 or checked == total):
            progress(checked, total)
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.sequence != checked:
        return ChainReport(checked, checked + 1, f"the chain head says #{head.sequence}, the table ends at #{checked}")
    return ChainReport(checked)
