"""The shape of a scale world: how many of each thing per person, the clock it spans, and its dice.

Proportions follow the issue: per million people three million grants, ten million audit entries and
twenty million deliveries (ten million events, each to the inbox and the messenger gateway).
Everything is drawn from `--seed` and the day the world ends (`until`), so one seed gives one world.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from array import array
from dataclasses import dataclass, field

DAY = 86_400
# The world spans eighteen months of history up to `until`.
SPAN_DAYS = 540
LINKS_PER_PERSON = 1.3
GRANTS_PER_PERSON = 3.0
EVENTS_PER_PERSON = 10.0
AUDIT_PER_PERSON = 10.0
# Strings of every second of a day, so a timestamp is two list lookups, not a strftime.
_CLOCK = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


@dataclass(frozen=True)
class Sizes:
    """How many of each thing a world of `people` people holds (targets; the dice decide exact counts)."""

    people: int

    @property
    def banks(self) -> int:
        """Return the number of banks: at least one in every state, one more per 15,000 people."""
        return max(8, self.people // 15_000)

    @property
    def links(self) -> int:
        return round(self.people * LINKS_PER_PERSON)

    @property
    def grants(self) -> int:
        return round(self.people * GRANTS_PER_PERSON)

    @property
    def events(self) -> int:
        return round(self.people * EVENTS_PER_PERSON)

    @property
    def audit_entries(self) -> int:
        return round(self.people * AUDIT_PER_PERSON)

    def expected_rows(self) -> int:
        """Return roughly how many rows the world writes, for the progress bar."""
        n = self.people
        return int(n * (1 + 1.3 + 3 + 6 + 10 + 20 + 9.3 + 1.2) + self.audit_entries * 2)


class Clock:
    """Seconds since the epoch, as COPY text, fast: the world's days are formatted once."""

    def __init__(self, until: dt.date) -> None:
        self.end = int(dt.datetime(until.year, until.month, until.day, tzinfo=dt.UTC).timestamp())
        self.start = self.end - SPAN_DAYS * DAY
        first = self.start // DAY - 400  # room for grants granted before the span whose history still shows
        self._first_day = first
        self._days = [
            (dt.date(1970, 1, 1) + dt.timedelta(days=first + offset)).isoformat() for offset in range(SPAN_DAYS + 1200)
        ]

    def text(self, seconds: int) -> str:
        """Return `seconds` since the epoch as a UTC timestamp in COPY text."""
        day, second = divmod(seconds, DAY)
        return f"{self._days[day - self._first_day]} {_CLOCK[second]}+00"

    def moment(self, seconds: int) -> dt.datetime:
        """Return `seconds` since the epoch as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(seconds, dt.UTC)


def dice(seed: int, part: str) -> random.Random:
    """Return the random stream of one part of the world: the same seed and part give the same stream."""
    return random.Random(seed * 1_000_003 + zlib.crc32(part.encode()))


def mix(seed: int, number: int) -> int:
    """Return a well-spread 32-bit number from `number` (cheap dice for one row, the same on every pass)."""
    value = ((number + seed * 0x632BE5AB) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    return (value ^ (value >> 29)) >> 32


@dataclass
class Bank:
    """A bank of the world, as the later parts need it: ids, state, its scopes and who acts for it."""

    id: int
    slug: str
    name: str
    status: str
    created: int
    terms_id: int | None = None
    key_id: int = 0
    member_ids: list[int] = field(default_factory=list)
    # One published scope per purpose, in `PURPOSES` order: (scope id, version id, code, version number).
    scopes: list[tuple[int, int, str, int]] = field(default_factory=list)


@dataclass
class World:
    """What the parts hand each other: first ids, the banks, and compact columns of links, grants, events."""

    seed: int
    sizes: Sizes
    clock: Clock
    first: dict[str, int]
    # The password hash every seeded account shares (hashed once: a slow hasher would dominate).
    password: str = ""
    banks: list[Bank] = field(default_factory=list)
    # Banks people hold accounts at (live and suspended ones), by index into `banks`.
    people_banks: list[int] = field(default_factory=list)
    staff_ids: list[int] = field(default_factory=list)
    person_joined: array = field(default_factory=lambda: array("q"))
    link_person: array = field(default_factory=lambda: array("q"))
    link_bank: array = field(default_factory=lambda: array("h"))
    link_at: array = field(default_factory=lambda: array("q"))
    link_unlinked_at: array = field(default_factory=lambda: array("q"))
    link_first_grant: array = field(default_factory=lambda: array("q"))
    grant_link: array = field(default_factory=lambda: array("q"))
    grant_slot: array = field(default_factory=lambda: array("b"))
    grant_status: array = field(default_factory=lambda: array("b"))
    grant_at: array = field(default_factory=lambda: array("q"))
    grant_end: array = field(default_factory=lambda: array("q"))
    grant_attested: array = field(default_factory=lambda: array("q"))
    event_grant: array = field(default_factory=lambda: array("q"))
    event_at: array = field(default_factory=lambda: array("q"))
    event_type: array = field(default_factory=lambda: array("b"))
    # One sort key per audit entry, in time order (`trail`).
    audit_keys: list[int] = field(default_factory=list)

    def person_id(self, index: int) -> int:
        return self.first["portal_user"] + index

    def link_id(self, index: int) -> int:
        return self.first["consent_accountlink"] + index

    def grant_id(self, index: int) -> int:
        return self.first["consent_consentgrant"] + index

    def event_id(self, index: int) -> int:
        return self.first["delivery_partnerevent"] + index

    def delivery_id(self, event: int, channel: int) -> int:
        """Return the id of an event's delivery: inbox (0) and gateway (1) sit side by side."""
        return self.first["delivery_delivery"] + 2 * event + channel


def iso(clock: Clock, seconds: int) -> str:
    """Return `seconds` since the epoch as ISO 8601 in UTC, the way receipts and payloads write times."""
    return clock.text(seconds)[:-3].replace(" ", "T") + "+00:00"
