"""Seed a scale world: refuse where it must not run, then write every part in one transaction, by COPY."""

from __future__ import annotations

import datetime as dt
import os
import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, connection, transaction

from compliance.audit import audit_checkpoint, audit_seal
from compliance.audit.sequencer import GENESIS_HASH
from compliance.models import AuditChainHead
from portal.groups import ensure_staff_groups

from .banks import seed_banks
from .copying import Writer, next_ids, rebuild_indexes, reset_sequences, set_aside_indexes, workers
from .integrity import TABLES
from .people import draw_people, write_people
from .plan import Clock, Sizes, World
from .progress import Progress
from .traffic import draw_events, write_traffic
from .trail import draw_trail, write_trail

# A database holds data when any of these has a row (migrations alone fill none of them).
DATA_TABLES = (
    "portal_user",
    "partners_partner",
    "consent_consentgrant",
    "delivery_partnerevent",
    "compliance_auditentry",
)
WITH_IDS = tuple(table for table in TABLES if table != "compliance_auditchainlink")
# Tables big enough that their secondary indexes are rebuilt after the load instead of kept up to date.
BIG = (
    "portal_user",
    "consent_accountlink",
    "consent_consentgrant",
    "consent_consentevent",
    "delivery_partnerevent",
    "delivery_delivery",
    "delivery_deliveryattempt",
    "delivery_inboxmessage",
    "compliance_auditentry",
)


class WorldRefused(Exception):
    """The world cannot be seeded here; the message says why and what to do."""


@dataclass
class Report:
    """What a seeding run wrote and how long it took."""

    counts: dict[str, int]
    seconds: float
    parts: list[tuple[str, int, float]] = field(default_factory=list)
    chain_size: int = 0
    fast_keys: bool = False
    # CPU seconds spent formatting rows (this process and its workers) and by the database's backend.
    python_cpu: float = 0.0
    database_cpu: float | None = None

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def holds_data(cursor: Any) -> bool:
    """Return True when the database already holds people, banks, grants, events or audit entries."""
    return any(_has_rows(cursor, table) for table in DATA_TABLES)


def _has_rows(cursor: Any, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
    return bool(cursor.fetchone()[0])


def seed_world(
    *,
    people: int,
    seed: int = 1,
    until: dt.date | None = None,
    append: bool = False,
    processes: int = 0,
    progress: Progress | None = None,
) -> Report:
    """Seed a world of `people` people into the default database (PostgreSQL only) and return what was written.

    Refuses a database that holds data unless `append` (then the world goes beside it, with fresh ids,
    and its audit entries continue the chain). All or nothing: one transaction. `processes` forked
    workers format the rows while this process streams them (0: this process does everything).
    """
    if connection.vendor != "postgresql":
        raise WorldRefused(
            f"The scale world needs PostgreSQL (this database is {connection.vendor}): set DATABASE_URL to a "
            "PostgreSQL database made for it, for example postgres://postgres@127.0.0.1:5432/scale_world."
        )
    if people < 1:
        raise WorldRefused("Give --people a number of at least 1.")
    sizes = Sizes(people)
    progress = progress or Progress(sizes.expected_rows(), quiet=True)
    if append:
        audit_seal()  # entries committed before the world come first in the chain
    with transaction.atomic(), connection.cursor() as cursor:
        holding = holds_data(cursor)
        if holding and not append:
            raise WorldRefused(
                "This database already holds data (people, banks, grants, events or audit entries). Seed an empty "
                "database, or pass --append to add the world beside what is there."
            )
        fast_keys = _tune(cursor)
        cursor.execute("SELECT pg_backend_pid()")
        backend = int(cursor.fetchone()[0])
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"size": 0, "chain_hash": GENESIS_HASH}
        )
        world = World(
            seed=seed,
            sizes=sizes,
            clock=Clock(until or dt.datetime.now(dt.UTC).date()),
            first=next_ids(cursor, WITH_IDS),
        )
        writer = Writer(cursor, progress)
        rebuild = [] if holding else set_aside_indexes(cursor, BIG)
        _write(world, writer, head, processes=processes, keys_checked=not fast_keys)
        rebuild_indexes(cursor, rebuild, progress)
        reset_sequences(cursor, WITH_IDS)
        progress.begin("analyze")
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
        progress.end()
        database_cpu = _backend_cpu(backend)
    audit_checkpoint(force=True)  # signs the world's chain, outside the database too
    python_cpu = sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )
    return Report(dict(writer.counts), progress.seconds, progress.parts, head.size, fast_keys, python_cpu, database_cpu)


def _write(world: World, writer: Writer, head: AuditChainHead, *, processes: int, keys_checked: bool) -> None:
    """Write the banks, draw the people, their traffic and the trail, then write those; move the chain head.

    With `keys_checked` (foreign-key triggers on), keys are checked row by row once the banks are in
    (a bank's scopes and their versions point at each other, so those wait for the end of that part):
    deferred to commit, the checks of tens of millions of rows would queue up in memory.
    """
    ensure_staff_groups()
    groups = dict(Group.objects.values_list("name", "id"))
    partner_permissions = Permission.objects.filter(content_type__app_label="partners", content_type__model="partner")
    permissions = dict(partner_permissions.values_list("codename", "id"))
    first_user = world.first["portal_user"]
    world.first["portal_user"] = seed_banks(
        world, writer, next_user=first_user, staff_groups=groups, permissions=permissions
    )  # people come after the staff and the banks' members
    if keys_checked:
        writer.cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    writer.progress.begin("drawing the world")
    draw_people(world)
    draw_events(world)
    draw_trail(world)
    writer.progress.end()
    with workers(world, processes) as writer.pool:
        write_people(world, writer)
        write_traffic(world, writer)
        size, chain = write_trail(world, writer, position=head.size, previous=head.chain_hash)
    head.size, head.chain_hash, head.watermark = size, chain, _watermark(writer.cursor, head.watermark)
    head.save(update_fields=["size", "chain_hash", "watermark"])


def _backend_cpu(pid: int) -> float | None:
    """Return the CPU seconds the database backend `pid` has used, when it runs on this machine (else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _tune(cursor: Any) -> bool:
    """Set this transaction up for bulk loading; return True when foreign-key triggers could be switched off.

    With `session_replication_role = replica` (superusers only) PostgreSQL skips the foreign-key
    triggers: the world's keys are right by construction, and `integrity.dangling_references` proves it.
    """
    cursor.execute("SET LOCAL synchronous_commit = off")
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
        return True
    except DatabaseError:
        return False


def _watermark(cursor: Any, current: int) -> int:
    """Return the sequencer's watermark after the world: past this transaction when nothing older can still seal.

    Every world entry is sealed already. If this transaction is the oldest still running and no older
    entry waits unsealed, the sequencer may start after this transaction; otherwise it keeps its mark.
    """
    cursor.execute("SELECT pg_current_xact_id()::text::bigint, pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    own, xmin = cursor.fetchone()
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM compliance_auditentry e WHERE e.txid >= %s AND e.txid < %s"
        " AND NOT EXISTS (SELECT 1 FROM compliance_auditchainlink l WHERE l.entry_id = e.id))",
        [current, own],
    )
    waiting = cursor.fetchone()[0]
    return own + 1 if xmin == own and not waiting else current
