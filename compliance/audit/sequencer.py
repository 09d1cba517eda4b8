"""The sequencer: links committed entries into the hash chain, in order, never past one still in flight.

Entries are written without any shared lock, so two transactions may commit their entries in either
order. The sequencer decides the order once, when it links an entry (`AuditChainLink`), and only for
entries no running transaction can still precede:

- On PostgreSQL each entry carries its transaction's id (`txid`). Every transaction older than the
  oldest one still running (the snapshot's `xmin`) has committed or rolled back, so all the entries it
  will ever have are visible: those are sealed, by transaction id and then entry id. Entries of newer
  transactions wait for a later run. (Certificate Transparency logs integrate queued leaves the same way.)
- On SQLite one transaction writes at a time (`IMMEDIATE`), so every visible entry has committed.

Entries written by the sequencer's own transaction are sealed with it. It runs from beat
(`compliance.tasks.audit_seal`) and before each verification.
"""

from __future__ import annotations

import hashlib

from django.db import connection, transaction

from ..models import AuditChainHead, AuditChainLink, AuditEntry

GENESIS_HASH = "0" * 64
# Links written per statement; a run goes on until nothing sealable is left.
SEAL_BATCH = 5000


def chain_hash(position: int, previous: str, content: str) -> str:
    """Return the hash that binds the entry with `content` hash at `position` to the chain before it."""
    return hashlib.sha256(f"{position}:{previous}:{content}".encode("ascii")).hexdigest()


def _head_for_update() -> AuditChainHead:
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(
        id=1, defaults={"size": 0, "chain_hash": GENESIS_HASH}
    )
    return head


def _sealable_postgresql(head: AuditChainHead) -> tuple[list[tuple[int, str]], int]:
    """Return (entry id, content hash) pairs ready to seal, oldest transaction first, and the new watermark."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,"
            " COALESCE(pg_current_xact_id_if_assigned()::text::bigint, 0)"
        )
        xmin, own = cursor.fetchone()
        cursor.execute(
            """
            SELECT e.id, e.content_hash FROM compliance_auditentry e
            WHERE e.txid >= %s AND (e.txid < %s OR e.txid = %s)
              AND NOT EXISTS (SELECT 1 FROM compliance_auditchainlink l WHERE l.entry_id = e.id)
            ORDER BY e.txid, e.id
            LIMIT %s
            """,
            [head.watermark, xmin, own, SEAL_BATCH],
        )
        rows = cursor.fetchall()
    # Below xmin nothing new can appear; the watermark moves there once everything below it is sealed.
    return rows, (xmin if len(rows) < SEAL_BATCH else head.watermark)


def _sealable_elsewhere(head: AuditChainHead) -> tuple[list[tuple[int, str]], int]:
    rows = list(
        AuditEntry.objects.filter(link__isnull=True).order_by("id").values_list("id", "content_hash")[:SEAL_BATCH]
    )
    return rows, head.watermark


def audit_seal() -> int:
    """Link every entry that is ready into the chain and return how many were linked."""
    sealed = 0
    while True:
        with transaction.atomic():
            head = _head_for_update()
            find = _sealable_postgresql if connection.vendor == "postgresql" else _sealable_elsewhere
            rows, watermark = find(head)
            position, previous = head.size, head.chain_hash
            links = []
            for entry_id, content in rows:
                position += 1
                previous = chain_hash(position, previous, content)
                links.append(AuditChainLink(position=position, entry_id=entry_id, chain_hash=previous))
            AuditChainLink.objects.bulk_create(links)
            head.size, head.chain_hash, head.watermark = position, previous, max(watermark, head.watermark)
            head.save(update_fields=["size", "chain_hash", "watermark"])
        sealed += len(rows)
        if len(rows) < SEAL_BATCH:
            return sealed
