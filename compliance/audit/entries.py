"""Writing an entry: who acted, redaction of secrets, canonical JSON, and the entry's own hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from ..models import AuditEntry

REDACTED = "[redacted]"
# Values under these keys (or keys ending in `_<one of them>`) never reach the trail.
SECRET_KEYS = frozenset(
    {"password", "secret", "token", "api_key", "authorization", "code_verifier", "raw_key", "cookie"}
)
# The fields an entry's hash covers, in this order.
HASHED_FIELDS = (
    "created_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "data_json",
    "ip",
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


def timestamp_text(value: dt.datetime) -> str:
    """Return a stored time as the hash reads it: UTC, ISO 8601, to the microsecond."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def content_hash(values: Sequence[Any]) -> str:
    """Return the SHA-256 hex digest of one entry's `HASHED_FIELDS` values, given in that order.

    The values are written as one JSON array of strings (the time as `timestamp_text`, a missing
    address as ""): unambiguous, and quick enough that verifying costs little more than reading.
    """
    created_at, *rest = values
    text = _encode([timestamp_text(created_at), *(value or "" for value in rest)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def audit_append(
    *,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    data: Mapping[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry to the trail inside the caller's transaction and return it.

    Call it from the service that makes the change, inside the same `transaction.atomic()`, so the
    change and its entry commit or roll back together. It takes no lock: the sequencer links the
    entry into the chain once its transaction has committed.
    """
    who = Actor.of(actor)
    fields: dict[str, Any] = {
        # Microseconds survive every backend, so the stored value hashes the same when re-read.
        "created_at": timezone.now().astimezone(dt.UTC),
        "actor_type": who.type,
        "actor_id": who.id,
        "actor_label": who.label,
        "action": action,
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "target_label": str(target)[:255] if target is not None else "",
        "data_json": canonical_json(redact(dict(data or {}))),
        "ip": ip or None,
    }
    entry = AuditEntry(**fields, content_hash=content_hash([fields[name] for name in HASHED_FIELDS]))
    entry.save(force_insert=True)
    return entry
