"""The scale world's people: accounts, their links to banks, grants in every state, and consent events."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from functools import partial

from consent.receipts import RECEIPT_VERSION

from .banks import PURPOSES, USER_COLUMNS
from .copying import NULL, Writer, lines
from .plan import DAY, Bank, Clock, World, dice, iso, mix

ACTIVE, REVOKED, EXPIRED = 0, 1, 2
GRANT_STATUS = ("active", "revoked", "expired")
GRANT_DAYS = 365
EVENTS_PER_LINK = 16
DELETION_DAYS = 30
# Message-type masks by purpose (bits of consent.purposes.MESSAGE_TYPE_BITS): all the purpose's types.
PURPOSE_MASK = {"account_updates": 1, "fraud_alerts": 2, "receipts_shipping": 12, "customer_service": 16}
# How many of a bank's four scopes a link is granted, with their weights (mean about 2.3 a link).
GRANTS_PER_LINK = ((1, 0.25), (2, 0.30), (3, 0.32), (4, 0.13))
FIRST_NAMES = ("Ada", "Bola", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ines", "Jonas", "Kofi", "Lena")
LAST_NAMES = ("Okafor", "Nowak", "Silva", "Kim", "Murphy", "Haddad", "Larsen", "Ito", "Mensah", "Rossi")
ZONES = ("Europe/London", "Europe/Paris", "America/New_York", "Asia/Singapore", "UTC")
REVOKERS = ("user",) * 16 + ("bank", "bank", "platform", "compliance")
EVENT_LABELS = {
    "linked": "Account linked",
    "granted": "Permission granted",
    "revoked": "Permission withdrawn",
    "expired": "Permission expired",
    "unlinked": "Account unlinked",
    "deletion_attested": "Bank confirmed deletion",
}


def draw_people(world: World) -> None:
    """Draw when people joined, their links and their grants into the world's columns (nothing written yet)."""
    rng = dice(world.seed, "people")
    random = rng.random
    clock, banks = world.clock, world.people_banks
    window = clock.end - clock.start - 30 * DAY
    weights = [weight for _, weight in GRANTS_PER_LINK]
    counts = [count for count, _ in GRANTS_PER_LINK]
    for person in range(world.sizes.people):
        # Skewed towards the recent past, as a growing service is: most grants are still in force.
        joined = clock.start + int(window * random() ** 0.5)
        world.person_joined.append(joined)
        first_bank = banks[int(random() * len(banks))]
        chosen = [first_bank]
        if random() < 0.3 and len(banks) > 1:
            chosen.append(banks[(banks.index(first_bank) + 1 + int(random() * (len(banks) - 1))) % len(banks)])
        for bank in chosen:
            linked = joined + int(random() * 7 * DAY)
            unlinked = linked + DAY + int(random() * (clock.end - linked - DAY)) if random() < 0.04 else 0
            world.link_person.append(person)
            world.link_bank.append(bank)
            world.link_at.append(linked)
            world.link_unlinked_at.append(unlinked)
            world.link_first_grant.append(len(world.grant_link))
            link = len(world.link_person) - 1
            for slot in rng.sample(range(4), rng.choices(counts, weights)[0]):
                _draw_grant(world, rng, link=link, slot=slot, linked=linked, unlinked=unlinked)
    world.link_first_grant.append(len(world.grant_link))


def _draw_grant(world: World, rng: random.Random, *, link: int, slot: int, linked: int, unlinked: int) -> None:
    random = rng.random
    end = world.clock.end
    granted = linked + 60 + int(random() * min(3 * DAY, ((unlinked or end) - linked) // 2))
    expires = granted + GRANT_DAYS * DAY
    if unlinked:
        status, finished = REVOKED, unlinked
    elif random() < 0.18:
        status, finished = REVOKED, granted + 60 + int(random() * (min(expires, end) - granted - 60))
    elif expires <= end:
        status, finished = EXPIRED, expires
    else:
        status, finished = ACTIVE, 0
    attested = 0
    if status != ACTIVE and random() < 0.85:
        attested = finished + 3600 + int(random() * 20 * DAY)
        attested = attested if attested < end else 0
    world.grant_link.append(link)
    world.grant_slot.append(slot)
    world.grant_status.append(status)
    world.grant_at.append(granted)
    world.grant_end.append(finished)
    world.grant_attested.append(attested)


def write_people(world: World, writer: Writer) -> None:
    """Write people, links, grants and consent events from the drawn columns."""
    writer.copy_chunks("portal_user", USER_COLUMNS, world, partial(lines, _people), world.sizes.people, part="people")
    columns = ["id", "account_ref", "account_mask", "status", "linked_at", "unlinked_at", "partner_id", "user_id"]
    writer.copy_chunks(
        "consent_accountlink", columns, world, partial(lines, _links), len(world.link_person), part="account links"
    )
    columns = [
        "id",
        "purpose",
        "message_types_mask",
        "status",
        "granted_at",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
        "deletion_due_at",
        "deletion_attested_at",
        "reminder_sent_at",
        "renewed_at",
        "link_id",
        "partner_id",
        "scope_id",
        "scope_version_id",
        "terms_id",
        "user_id",
    ]
    writer.copy_chunks(
        "consent_consentgrant", columns, world, partial(lines, _grants), len(world.grant_link), part="grants"
    )
    columns = [
        "id",
        "public_id",
        "kind",
        "actor",
        "reason",
        "created_at",
        "receipt_json",
        "receipt_sha256",
        "link_id",
        "partner_id",
        "user_id",
        "grant_id",
    ]
    writer.copy_chunks(
        "consent_consentevent",
        columns,
        world,
        partial(lines, _consent_events),
        len(world.link_person),
        part="consent events",
    )


def _people(world: World, low: int, high: int) -> Iterator[str]:
    text, seed, password = world.clock.text, world.seed, world.password
    for person in range(low, high):
        joined = world.person_joined[person]
        pid = world.person_id(person)
        dice_ = mix(seed, pid)
        name = f"{FIRST_NAMES[dice_ % 12]} {LAST_NAMES[(dice_ >> 4) % 10]}"
        yield (
            f"{pid}\t{password}\t{NULL}\tf\tperson{pid}@people.scale.example\t{name}\t{ZONES[(dice_ >> 8) % 5]}\t"
            f"f\tt\t{text(joined)}\tf\n"
        )


def _links(world: World, low: int, high: int) -> Iterator[str]:
    text, banks = world.clock.text, world.banks
    for link in range(low, high):
        person = world.link_person[link]
        lid = world.link_id(link)
        unlinked = world.link_unlinked_at[link]
        status, gone = ("unlinked", text(unlinked)) if unlinked else ("active", NULL)
        yield (
            f"{lid}\tacct-{lid}\t•••• {lid % 10000:04d}\t{status}\t{text(world.link_at[link])}\t{gone}\t"
            f"{banks[world.link_bank[link]].id}\t{world.person_id(person)}\n"
        )


def _grants(world: World, low: int, high: int) -> Iterator[str]:
    text, banks, seed = world.clock.text, world.banks, world.seed
    link_person, link_bank = world.link_person, world.link_bank
    for grant in range(low, high):
        link = world.grant_link[grant]
        bank = banks[link_bank[link]]
        scope_id, version_id, _code, _number = bank.scopes[world.grant_slot[grant]]
        purpose = PURPOSES[world.grant_slot[grant]]
        status, granted, finished = world.grant_status[grant], world.grant_at[grant], world.grant_end[grant]
        gid = world.grant_id(grant)
        mask = PURPOSE_MASK[purpose]
        if mask == 12 and mix(seed, gid) % 10 == 0:
            mask = 4  # shipping updates switched off
        revoked_at, revoked_by, reason, due, attested = NULL, "", "", NULL, NULL
        if status == REVOKED:
            unlinked = world.link_unlinked_at[link]
            revoked_at = text(finished)
            revoked_by = revoker(world, grant)
            reason = "The account was unlinked." if unlinked else "No longer needed."
        if status != ACTIVE:
            due = text(finished + DELETION_DAYS * DAY)
            attested = text(world.grant_attested[grant]) if world.grant_attested[grant] else NULL
        yield (
            f"{gid}\t{purpose}\t{mask}\t{GRANT_STATUS[status]}\t{text(granted)}\t{text(granted + GRANT_DAYS * DAY)}\t"
            f"{revoked_at}\t{revoked_by}\t{reason}\t{due}\t{attested}\t{NULL}\t{NULL}\t{world.link_id(link)}\t"
            f"{bank.id}\t{scope_id}\t{version_id}\t{bank.terms_id or NULL}\t{world.person_id(link_person[link])}\n"
        )


def revoker(world: World, grant: int) -> str:
    """Return who revoked grant number `grant`: mostly the person, sometimes the bank, platform or compliance."""
    if world.link_unlinked_at[world.grant_link[grant]]:
        return "user"  # unlinking revokes every grant on the link
    return REVOKERS[mix(world.seed, world.grant_id(grant)) % len(REVOKERS)]


def public_id(world: World, event_id: int) -> str:
    """Return the public id (a UUID) of consent event `event_id`: unique, and the same for one seed."""
    return f"5ca1e000-{world.seed & 0xFFFF:04x}-4000-8000-{event_id:012x}"


def _consent_events(world: World, low: int, high: int) -> Iterator[str]:
    """Yield each link's consent history: linked, each grant granted and ended and attested, unlinked.

    A link's events take ids from `first + EVENTS_PER_LINK * link` on, so any range of links can be
    written alone (a link has at most 1 + 3 * 4 + 1 events).
    """
    clock, banks = world.clock, world.banks
    first_grant = world.link_first_grant
    for link in range(low, high):
        person = world.link_person[link]
        eid = world.first["consent_consentevent"] + EVENTS_PER_LINK * link
        bank = banks[world.link_bank[link]]
        lid, pid = world.link_id(link), world.person_id(person)
        head = (lid, pid, bank, f"•••• {lid % 10000:04d}")
        history = [(world.link_at[link], "linked", "user", "", -1)]
        for grant in range(first_grant[link], first_grant[link + 1]):
            status = world.grant_status[grant]
            history.append((world.grant_at[grant], "granted", "user", "", grant))
            if status == REVOKED:
                reason = "The account was unlinked." if world.link_unlinked_at[link] else "No longer needed."
                history.append((world.grant_end[grant], "revoked", revoker(world, grant), reason, grant))
            elif status == EXPIRED:
                history.append((world.grant_end[grant], "expired", "system", "", grant))
            if world.grant_attested[grant]:
                history.append((world.grant_attested[grant], "deletion_attested", "bank", "", grant))
        if world.link_unlinked_at[link]:
            history.append((world.link_unlinked_at[link], "unlinked", "user", "", -1))
        for at, kind, actor, reason, grant in history:
            yield _consent_event(world, clock, eid, head, at, kind, actor, reason, grant)
            eid += 1


def _consent_event(
    world: World, clock: Clock, eid: int, head: tuple[int, int, Bank, str], at: int, kind: str, actor: str,
    reason: str, grant: int,
) -> str:  # fmt: skip
    lid, pid, bank, mask = head
    uuid = public_id(world, eid)
    when = iso(clock, at)
    snapshot = "null"
    if grant >= 0:
        slot = world.grant_slot[grant]
        _scope_id, _version_id, code, number = bank.scopes[slot]
        expires = iso(clock, world.grant_at[grant] + GRANT_DAYS * DAY)
        snapshot = (
            f'{{"expires_at":"{expires}","granted_at":"{iso(clock, world.grant_at[grant])}",'
            f'"id":{world.grant_id(grant)},"purpose":"{PURPOSES[slot]}","scope":"{code}","scope_version":{number}}}'
        )
    receipt = (
        f'{{"account":{{"account_mask":"{mask}","link_id":{lid}}},"bank":{{"name":"{bank.name}","slug":"{bank.slug}"}},'
        f'"by":"{actor}","event":"{kind}","event_label":"{EVENT_LABELS[kind]}","grant":{snapshot},'
        f'"issued_at":"{when}","person":{{"email":"person{pid}@people.scale.example","id":{pid}}},'
        f'"reason":{json.dumps(reason) if reason else "null"},"receipt_id":"{uuid}",'
        f'"receipt_version":{RECEIPT_VERSION}}}'
    )
    digest = hashlib.sha256(receipt.encode()).hexdigest()
    grant_id = world.grant_id(grant) if grant >= 0 else NULL
    return (
        f"{eid}\t{uuid}\t{kind}\t{actor}\t{reason}\t{clock.text(at)}\t{receipt}\t{digest}\t"
        f"{lid}\t{bank.id}\t{pid}\t{grant_id}\n"
    )
