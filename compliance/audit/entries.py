"""Writing an entry: who acted, redaction of secrets, canonical JSON, and the entry's own hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..models import AuditEntry

REDACTED = "[redacted]"
# Values under these keys (or keys ending in `_<one of them>`) never reach the trail.
SECRET_KEYS = frozenset(
    {"password", "secret", "token", "api_key", "authorization", "code_verifier", "raw_key", "cookie"}
)
# The fields an entry's hash covers, in this order: those every entry has, then the bank and person
# it concerns (`CONCERNS`), which entries written before they existed lack.
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
    "partner_id",
    "person_id",
    "personal_salt",
    "personal_commitment",
)
CONCERNS = 2
# The fields that may name a person: an erasable entry's hash covers their salted commitment
# (`personal_commitment`), not the values, so erasure can remove them and the entry still verifies.
PERSONAL_FIELDS = ("actor_label", "target_label", "data_json", "ip")
# What an erased entry holds in place of its personal fields (the database trigger checks the shape).
ERASED_LABEL = "[erased]"
ERASED_DATA = '{"erased":true}'
SALT_BYTES = 16
# The bank model, by label: its entries concern the bank they are (the trail imports no app).
PARTNER_MODEL = "partners.Partner"


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


# The same text, written by PostgreSQL (`%s` is the column): what verification reads instead of a datetime.
TIMESTAMP_SQL = """to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_quote = json.encoder.encode_basestring  # how `_encode` quotes a string (ensure_ascii=False), in C


def _encode_texts(items: list[str]) -> str:
    """Return a list of strings exactly as `_encode` writes it, without the encoder's setup on every call.

    Verification hashes every entry, so this is its hottest line; anything but strings goes to `_encode`.
    """
    try:
        return "[" + ",".join(map(_quote, items)) + "]"
    except TypeError:
        return _encode(items)


def personal_commitment(salt: str, actor_label: str, target_label: str, data_json: str, ip: str | None) -> str:
    """Return the salted commitment to an entry's personal fields: SHA-256 of the salt and the values.

    The salt is random and kept only until erasure, so an erased entry's commitment reveals nothing and
    cannot be tested against a guessed name or address.
    """
    text = _encode_texts([salt, actor_label or "", target_label or "", data_json or "", ip or ""])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(values: Sequence[Any]) -> str:
    """Return the SHA-256 hex digest of one entry's `HASHED_FIELDS` values, given in that order.

    The values are written as one JSON array of strings (the time as `timestamp_text`, a missing
    address as ""): unambiguous, and quick enough that verifying costs little more than reading.

    Erasable entries (those with a salt, or erased: with a commitment) hash their personal fields
    through `personal_commitment`, computed from the salt while the values are there and read as
    stored once they are erased; both give the same hash. Entries written before erasable entries
    existed have neither and hash their values directly, as they always did: an entry that concerns
    no bank and no person leaves those two out, so it hashes exactly as entries written before they
    existed did; the array's length tells the forms apart.
    """
    return content_hash_at(timestamp_text(values[0]), values[1:])


def content_hash_at(created_text: str, rest: Sequence[Any]) -> str:
    """Return `content_hash` of an entry whose time is already written as `timestamp_text` writes it.

    Verification reads that text straight from the database (`TIMESTAMP_SQL`), which is faster than
    making a datetime of every row and writing it out again.
    """
    *rest, salt, commitment = rest
    if salt or commitment:
        actor_type, actor_id, actor_label, action, target_type, target_id, target_label, data_json, ip = rest[:9]
        partner_id, person_id = rest[9:]
        if not commitment:
            commitment = personal_commitment(salt, actor_label, target_label, data_json, ip)
        items = [
            "v2",
            created_text,
            actor_type,
            actor_id or "",
            action,
            target_type or "",
            target_id or "",
            "" if partner_id is None else str(partner_id),
            "" if person_id is None else str(person_id),
            commitment,
        ]
        return hashlib.sha256(_encode_texts(items).encode("utf-8")).hexdigest()
    common, about = rest[:-CONCERNS], rest[-CONCERNS:]
    items = [created_text, *(value or "" for value in common)]
    if about[0] is not None or about[1] is not None:
        items += ["" if value is None else str(value) for value in about]
    text = _encode_texts(items)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _an_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def concerns(*, target: models.Model | None, actor: Any) -> tuple[int | None, int | None]:
    """Return the ids of the bank and of the person an entry is about: `(partner_id, person_id)`.

    The one place this is decided. Read off the target: a bank is its own bank, anything with a
    `partner` belongs to that bank; a person is their own person, anything with a `user` is about
    that person. With no bank on the target, a bank's API key acting names its bank.
    """
    partner = person = None
    if target is not None:
        label = target._meta.label
        partner = target.pk if label == PARTNER_MODEL else getattr(target, "partner_id", None)
        person = target.pk if label == settings.AUTH_USER_MODEL else getattr(target, "user_id", None)
    if partner is None and getattr(actor, "is_api_key", False):
        partner = getattr(actor, "partner_id", None)
    return _an_id(partner), _an_id(person)


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
    partner_id, person_id = concerns(target=target, actor=actor)
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
        "partner_id": partner_id,
        "person_id": person_id,
        "personal_salt": secrets.token_hex(SALT_BYTES),
        "personal_commitment": "",
    }
    entry = AuditEntry(**fields, content_hash=content_hash([fields[name] for name in HASHED_FIELDS]))
    entry.save(force_insert=True)
    return entry
