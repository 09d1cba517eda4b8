"""The scale world's traffic: events banks posted over the months, their deliveries, attempts and inbox messages.

Each event goes to two channels (the inbox and the messenger gateway), so a delivery's id is
`2 * event + channel` past the first: no column of deliveries is kept, every pass recomputes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial

from .copying import NULL, Writer, lines
from .plan import DAY, World, dice, iso, mix

TYPES = ("balance_update", "fraud_alert", "receipt", "shipping_update")
INBOX, GATEWAY = 0, 1
CHANNELS = ("inbox", "gateway")
# What became of an event, by per-mille share: (share up to, inbox status, gateway status, event status).
OUTCOMES = (
    (930, "delivered", "delivered", "delivered"),
    (945, "delivered", "failed", "accepted"),
    (955, "delivered", "dead", "partially_delivered"),
    (965, "pending", "pending", "accepted"),
    (980, "cancelled", "cancelled", "blocked"),
    (990, "superseded", "superseded", "cancelled"),
    (1000, "expired", "expired", "cancelled"),
)
ATTEMPTS = {"delivered": 1, "failed": 2, "dead": 7}
MOST_ATTEMPTS = 8
ERRORS = {"failed": "HTTP 503 from the gateway; will retry", "dead": "HTTP 500 from the gateway seven times"}
TITLES = {
    "balance_update": "Your balance",
    "fraud_alert": "Did you make this payment?",
    "receipt": "Your receipt",
    "shipping_update": "Your parcel",
}
_OUTCOME_OF = [next(row for row in OUTCOMES if share < row[0]) for share in range(1000)]


def draw_events(world: World) -> None:
    """Draw the events banks posted: on grants for updates, fraud alerts and receipts, while each was in force."""
    rng = dice(world.seed, "events")
    random = rng.random
    end, target = world.clock.end, world.sizes.events
    windows = [
        0 if slot == 3 else (finished or end) - granted
        for slot, granted, finished in zip(world.grant_slot, world.grant_at, world.grant_end, strict=True)
    ]
    per_second = target / max(sum(windows), 1)
    append_grant, append_at, append_type = world.event_grant.append, world.event_at.append, world.event_type.append
    for grant, window in enumerate(windows):
        if not window:
            continue
        slot, granted, wanted = world.grant_slot[grant], world.grant_at[grant], window * per_second
        count = int(wanted) + (random() < wanted % 1)
        for _ in range(count):
            append_grant(grant)
            append_at(granted + int(random() * window))
            append_type(slot if slot < 2 else (3 if random() < 0.3 else 2))


def outcome(world: World, event: int) -> tuple[int, str, str, str]:
    """Return what became of event number `event`: (share, inbox status, gateway status, event status)."""
    row = _OUTCOME_OF[mix(world.seed, event) % 1000]
    if row[1] == "pending" and world.event_at[event] < world.clock.end - 2 * DAY:
        return OUTCOMES[0]  # only recent events still wait
    if row[1] == "superseded" and world.event_type[event] != 0:
        return OUTCOMES[0]  # only balance updates supersede each other
    return row


def write_traffic(world: World, writer: Writer) -> None:
    """Write events, deliveries, delivery attempts and inbox messages."""
    events = len(world.event_grant)
    columns = [
        "id",
        "type",
        "payload",
        "idempotency_key",
        "request_hash",
        "deliver_by",
        "supersession_key",
        "supersedes_at",
        "status",
        "created_at",
        "link_id",
        "partner_id",
        "environment",
    ]
    writer.copy_chunks("delivery_partnerevent", columns, world, partial(lines, _events), events, part="events")
    columns = [
        "id",
        "channel",
        "status",
        "queue",
        "attempts",
        "next_attempt_at",
        "enqueued_at",
        "delivered_at",
        "last_error",
        "created_at",
        "partner_id",
        "event_id",
    ]
    writer.copy_chunks("delivery_delivery", columns, world, partial(lines, _deliveries), events, part="deliveries")
    columns = [
        "id",
        "attempted_at",
        "status_code",
        "duration_ms",
        "response_excerpt",
        "error",
        "succeeded",
        "delivery_id",
    ]
    writer.copy_chunks(
        "delivery_deliveryattempt", columns, world, partial(lines, _attempts), events, part="delivery attempts"
    )
    columns = ["id", "type", "title", "body", "created_at", "read_at", "delivery_id", "partner_id", "user_id"]
    writer.copy_chunks("delivery_inboxmessage", columns, world, partial(lines, _inbox), events, part="inbox messages")


def _payload(world: World, kind: int, event: int, at: int, mask: str) -> str:
    money = f"{mix(world.seed, event) % 500000 / 100:.2f}"
    moment = iso(world.clock, at - 30)
    if kind == 0:
        return (
            f'{{"account_mask": "{mask}", "as_of": "{moment}", "available": "{money}", "balance": "{money}", '
            f'"currency": "GBP"}}'
        )
    if kind == 1:
        return (
            f'{{"account_mask": "{mask}", "amount": "{money}", "currency": "GBP", '
            f'"merchant": "Shop {event % 977}", "occurred_at": "{moment}"}}'
        )
    if kind == 2:
        return (
            f'{{"amount": "{money}", "currency": "GBP", "items": [{{"amount": "{money}", "name": "Item", '
            f'"quantity": 1}}], "merchant": "Shop {event % 977}", "purchased_at": "{moment}"}}'
        )
    return f'{{"carrier": "Parcel Co", "eta": null, "status": "in_transit", "tracking_number": "PC{event:012d}"}}'


def _events(world: World, low: int, high: int) -> Iterator[str]:
    text, banks = world.clock.text, world.banks
    for event in range(low, high):
        grant = world.event_grant[event]
        link = world.grant_link[grant]
        bank = banks[world.link_bank[link]]
        kind, at, eid, lid = world.event_type[event], world.event_at[event], world.event_id(event), world.link_id(link)
        mask = f"•••• {lid % 10000:04d}"
        payload = _payload(world, kind, event, at, mask)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        supersession, supersedes = (f"{lid}:{mask}", text(at - 30)) if kind == 0 else ("", NULL)
        yield (
            f"{eid}\t{TYPES[kind]}\t{payload}\tevt-{eid}\t{digest}\t{NULL}\t{supersession}\t{supersedes}\t"
            f"{outcome(world, event)[3]}\t{text(at)}\t{lid}\t{bank.id}\tlive\n"
        )


def _deliveries(world: World, low: int, high: int) -> Iterator[str]:
    text, banks = world.clock.text, world.banks
    for event in range(low, high):
        grant = world.event_grant[event]
        bank_id = banks[world.link_bank[world.grant_link[grant]]].id
        at, eid = world.event_at[event], world.event_id(event)
        queue = "fraud" if world.event_type[event] == 1 else "default"
        _share, *statuses, _event_status = outcome(world, event)
        created, done, retry = text(at), text(at + 2), text(at + 35 * 60)
        for channel in (INBOX, GATEWAY):
            status = statuses[channel]
            attempts = ATTEMPTS.get(status, 0)
            yield (
                f"{world.delivery_id(event, channel)}\t{CHANNELS[channel]}\t{status}\t{queue}\t{attempts}\t"
                f"{retry if status == 'failed' else created}\t{created if attempts or status == 'pending' else NULL}\t"
                f"{done if status == 'delivered' else NULL}\t{ERRORS.get(status, '')}\t{created}\t{bank_id}\t{eid}\n"
            )


def _attempts(world: World, low: int, high: int) -> Iterator[str]:
    """Yield the gateway's attempts: every try of failed and dead deliveries, and one in eight of delivered ones.

    An event's attempts take ids from `first + MOST_ATTEMPTS * event` on, so any range can be written alone.
    """
    text, seed = world.clock.text, world.seed
    for event in range(low, high):
        status = outcome(world, event)[2]
        if status not in ATTEMPTS or (status == "delivered" and mix(seed, event) >> 20 & 7):
            continue
        at, did = world.event_at[event], world.delivery_id(event, GATEWAY)
        tries = ATTEMPTS[status]
        aid = world.first["delivery_deliveryattempt"] + MOST_ATTEMPTS * event
        for number in range(tries):
            succeeded = status == "delivered"
            code, error = (200, "") if succeeded else (503 if status == "failed" else 500, ERRORS[status])
            yield (
                f"{aid}\t{text(at + 3 + number * 300)}\t{code}\t{40 + (event + number) % 200}\t"
                f"{'ok' if succeeded else 'error'}\t{error}\t{'t' if succeeded else 'f'}\t{did}\n"
            )
            aid += 1


def _inbox(world: World, low: int, high: int) -> Iterator[str]:
    """Yield an inbox message for every delivered inbox delivery (id: first + event); older ones have been read."""
    text, banks, seed = world.clock.text, world.banks, world.seed
    read_before = world.clock.end - 3 * DAY
    for event in range(low, high):
        grant = world.event_grant[event]
        mid = world.first["delivery_inboxmessage"] + event
        if outcome(world, event)[1] != "delivered":
            continue
        link = world.grant_link[grant]
        kind, at = world.event_type[event], world.event_at[event]
        title = TITLES[TYPES[kind]]
        read = text(at + 3600 + mix(seed, event) % DAY) if at < read_before and mix(seed, event) % 5 else NULL
        yield (
            f"{mid}\t{TYPES[kind]}\t{title}\t{title} from {banks[world.link_bank[link]].name}.\t{text(at + 1)}\t"
            f"{read}\t{world.delivery_id(event, INBOX)}\t{banks[world.link_bank[link]].id}\t"
            f"{world.person_id(world.link_person[link])}\n"
        )
