"""The scale world's audit trail: an entry for everything the other parts wrote, in time order, sealed into the chain.

Each entry is hashed with the trail's own `content_hash` and linked with its own `chain_hash`, exactly as
`audit_append` and the sequencer would have, so `audit_verify` proves the seeded trail like any other.
Entries are sorted by time first (one integer key per entry), so ids and the chain follow the clock.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from typing import Any

from compliance.audit import content_hash
from compliance.audit.entries import HASHED_FIELDS
from compliance.audit.sequencer import chain_hash

from .banks import member_email
from .copying import NULL, Writer
from .people import EXPIRED, PURPOSES, REVOKED
from .plan import World, dice, mix
from .traffic import GATEWAY, outcome

# Kinds of entry, as the key's 4 bits between the time and the reference.
SIGN_UP, LOGIN, LINK, GRANT, REVOKE, EXPIRE, ATTEST, INTAKE, DEAD, BANK = range(10)
BANK_ACTIONS = ("partner.apply", "partner.status_change", "terms.accept", "partner.api_key_create")
REF_BITS, KIND_BITS = 33, 4
# The fields an entry is written with, in the order the trail hashes them (`HASHED_FIELDS`).
WRITTEN = (
    "created_at", "actor_type", "actor_id", "actor_label", "action", "target_type", "target_id", "target_label",
    "data_json", "ip", "partner_id", "person_id", "personal_salt", "personal_commitment",
)  # fmt: skip
if tuple(HASHED_FIELDS) != WRITTEN:  # pragma: no cover (fails loudly the day the trail hashes other fields)
    raise RuntimeError(f"The trail now hashes {HASHED_FIELDS}: update portal/scale/trail.py to write exactly those.")
COLUMNS = ("id", *WRITTEN, "content_hash")


def _key(world: World, at: int, kind: int, ref: int) -> int:
    return ((at - world.clock.start + 10**8) << (REF_BITS + KIND_BITS)) | (kind << REF_BITS) | ref


def _keys(world: World) -> list[int]:
    """Return one sort key per entry: what happened, to which row, and when."""
    rng = dice(world.seed, "trail")
    random, end = rng.random, world.clock.end
    keys: list[int] = []
    add = keys.append
    for index, bank in enumerate(world.banks):
        for step in range(len(BANK_ACTIONS) if bank.key_id else 2):
            add(_key(world, bank.created + step * 86_400 * 7, BANK, index * 8 + step))
    for person, joined in enumerate(world.person_joined):
        add(_key(world, joined, SIGN_UP, person))
    for link, linked in enumerate(world.link_at):
        add(_key(world, linked, LINK, link))
    for grant, granted in enumerate(world.grant_at):
        add(_key(world, granted, GRANT, grant))
        status = world.grant_status[grant]
        if status == REVOKED:
            add(_key(world, world.grant_end[grant], REVOKE, grant))
        elif status == EXPIRED:
            add(_key(world, world.grant_end[grant], EXPIRE, grant))
        if world.grant_attested[grant]:
            add(_key(world, world.grant_attested[grant], ATTEST, grant))
    for event in range(len(world.event_grant)):
        if outcome(world, event)[2] == "dead":
            add(_key(world, world.event_at[event] + 2 * 3600, DEAD, event))
    # The rest of the budget: people signing in, and banks' intake batches (machine traffic).
    rest = max(world.sizes.audit_entries - len(keys), 0)
    people = len(world.person_joined)
    for number in range(rest):
        if number % 5 < 2 and people:
            person = int(random() * people)
            joined = world.person_joined[person]
            add(_key(world, joined + 60 + int(random() * (end - joined - 60)), LOGIN, person))
        else:
            add(_key(world, world.clock.start + int(random() * (end - world.clock.start)), INTAKE, number))
    keys.sort()
    return keys


class _Entry:
    """Builds one entry's fields from a key; the actors and targets read as the portal's own would."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.epoch = dt.datetime.fromtimestamp(0, dt.UTC)

    def person(self, person: int) -> tuple[str, str, str]:
        pid = self.world.person_id(person)
        return "user", str(pid), f"person{pid}@people.scale.example"

    def key_actor(self, bank: Any) -> tuple[str, str, str]:
        environment = "live" if bank.status in ("live", "suspended") else "sandbox"
        return "api_key", str(bank.key_id), f"{bank.slug}:scale key (pbk_{environment}_sc{bank.key_id:010x}_…)"

    def fields(self, key: int) -> tuple[Any, ...]:
        world = self.world
        ref = key & ((1 << REF_BITS) - 1)
        kind = (key >> REF_BITS) & ((1 << KIND_BITS) - 1)
        at = (key >> (REF_BITS + KIND_BITS)) - 10**8 + world.clock.start
        moment = self.epoch + dt.timedelta(seconds=at, microseconds=mix(world.seed, key) % 1_000_000)
        ip = f"198.51.100.{ref % 250 + 1}"
        if kind in (SIGN_UP, LOGIN):
            actor = self.person(ref)
            pid = world.person_id(ref)
            action, data = ("user.sign_up", "{}") if kind == SIGN_UP else ("auth.login", "{}")
            return (moment, *actor, action, "portal.user", str(pid), actor[2], data, ip, None, pid)
        if kind == BANK:
            bank = world.banks[ref // 8]
            action = BANK_ACTIONS[ref % 8]
            who = bank.member_ids[0] if action != "partner.status_change" else world.staff_ids[0]
            actor = ("user", str(who), member_email(world, bank, who))
            data = f'{{"status":"{bank.status}"}}' if action == "partner.status_change" else "{}"
            return (moment, *actor, action, "partners.partner", str(bank.id), bank.name, data, ip, bank.id, None)
        if kind == INTAKE:
            bank = world.banks[world.people_banks[ref % len(world.people_banks)]]
            data = f'{{"accepted":{1 + ref % 500},"refused":0}}'
            return (moment, *self.key_actor(bank), "delivery.events_intake", "", "", "", data, None, bank.id, None)
        if kind == LINK:
            bank = world.banks[world.link_bank[ref]]
            lid, pid = world.link_id(ref), world.person_id(world.link_person[ref])
            label = f"{bank.id}:•••• {lid % 10000:04d} of user {pid}"
            data = f'{{"partner":"{bank.slug}"}}'
            return (
                moment,
                *self.person(world.link_person[ref]),
                "consent.link",
                "consent.accountlink",
                str(lid),
                label,
                data,
                ip,
                bank.id,
                pid,
            )
        if kind == DEAD:
            grant = world.event_grant[ref]
            bank = world.banks[world.link_bank[world.grant_link[grant]]]
            did = world.delivery_id(ref, GATEWAY)
            data = '{"attempts":7,"channel":"gateway"}'
            return (
                moment,
                "system",
                "",
                "delivery",
                "delivery.dead_letter",
                "delivery.delivery",
                str(did),
                f"delivery {did} (gateway, dead)",
                data,
                None,
                bank.id,
                None,
            )
        link = world.grant_link[ref]
        bank = world.banks[world.link_bank[link]]
        gid, pid, person = world.grant_id(ref), world.person_id(world.link_person[link]), world.link_person[link]
        purpose = PURPOSES[world.grant_slot[ref]]
        label = f"grant {gid}: {purpose} on link {world.link_id(link)}"
        scope = bank.scopes[world.grant_slot[ref]][2]
        target = ("consent.consentgrant", str(gid), label)
        if kind == GRANT:
            data = f'{{"purpose":"{purpose}","scope":"{scope}"}}'
            return (moment, *self.person(person), "consent.grant", *target, data, ip, bank.id, pid)
        if kind == REVOKE:
            data = '{"reason":"No longer needed."}'
            return (moment, *self.person(person), "consent.revoke", *target, data, ip, bank.id, pid)
        if kind == EXPIRE:
            return (moment, "system", "", "expiry", "consent.expire", *target, "{}", None, bank.id, pid)
        return (moment, *self.key_actor(bank), "consent.deletion_attest", *target, "{}", None, bank.id, pid)


def draw_trail(world: World) -> None:
    """Draw the trail's entries, as sort keys in time order, into `world.audit_keys`."""
    world.audit_keys = _keys(world)


def write_trail(world: World, writer: Writer, *, position: int, previous: str) -> tuple[int, str]:
    """Write every entry and its link into the chain after (`position`, `previous`); return the new head.

    Entries are made in chunks (by the workers when there are), each with the content hashes of its
    entries; the chain is then linked here, in order, since each link hashes the one before it.
    """
    state: dict[str, Any] = {"position": position, "previous": previous}
    # Links wait in a file while the entries stream: one connection runs one COPY at a time.
    with tempfile.TemporaryFile("w+", encoding="utf-8", prefix="scale-links-") as links:

        def link(chunk: tuple[int, list[str]]) -> None:
            eid, contents = chunk
            at, head = state["position"], state["previous"]
            made = []
            for content in contents:
                at += 1
                head = chain_hash(at, head, content)
                made.append(f"{at}\t{eid}\t{head}\n")
                eid += 1
            links.write("".join(made))
            state["position"], state["previous"] = at, head

        total = len(world.audit_keys)
        writer.copy_chunks(
            "compliance_auditentry", COLUMNS, world, _entry_chunk, total, part="audit entries", each=link
        )
        links.seek(0)
        writer.copy("compliance_auditchainlink", ("position", "entry_id", "chain_hash"), links, part="chain links")
    return int(state["position"]), str(state["previous"])


def _entry_chunk(world: World, low: int, high: int) -> tuple[str, int, tuple[int, list[str]]]:
    """Return entries `low..high` as COPY text, with their content hashes (the chain is linked by the caller)."""
    entry, first = _Entry(world), world.first["compliance_auditentry"] + low
    shift, start, text = REF_BITS + KIND_BITS, world.clock.start - 10**8, world.clock.text
    made, contents = [], []
    seed = world.seed
    for eid, key in enumerate(world.audit_keys[low:high], start=first):
        # Like audit_append: every entry carries a salt for its personal fields (here drawn from the seed).
        salt = f"{mix(seed, key):08x}{mix(seed + 1, key):08x}{mix(seed + 2, key):08x}{mix(seed + 3, key):08x}"
        fields = entry.fields(key)
        content = content_hash((*fields, salt, ""))
        contents.append(content)
        moment, actor_type, actor_id, actor_label, action, target_type, target_id, label, data, ip, bank, pid = fields
        # The stored time, written from the clock: the same instant `content_hash` read off `moment`.
        stamp = f"{text((key >> shift) + start)[:-3]}.{moment.microsecond:06d}+00"
        made.append(
            f"{eid}\t{stamp}\t{actor_type}\t{actor_id}\t{actor_label}\t{action}\t{target_type}\t{target_id}\t"
            f"{label}\t{data}\t{ip or NULL}\t{NULL if bank is None else bank}\t{NULL if pid is None else pid}\t"
            f"{salt}\t\t{content}\n"
        )
    return "".join(made), len(made), (first, contents)
