"""Which entries a trail filter selects, as one queryset each keyset index can answer, and the known actions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from ..models import BY_PERSON, AuditEntry

# Entries by people, by machines (API keys and the system), or both.
PEOPLE, MACHINE, EVERYTHING = "people", "machine", "all"
KINDS = (
    (PEOPLE, "People's actions"),
    (MACHINE, "Machine traffic (API keys and the system)"),
    (EVERYTHING, "Everything"),
)
# An entry's time is taken just before its id: the two orders agree to far better than this, so a date
# range can be turned into an id range that the primary key answers, then cut exactly by time.
CLOCK_SLACK = dt.timedelta(hours=1)
LAST_ID = 2**63 - 1
ACTIONS_CACHE_KEY, ACTIONS_CACHE_SECONDS = "compliance:trail:actions", 300


@dataclass(frozen=True)
class TrailFilter:
    """What a compliance officer asked to see; every part optional but `kind`."""

    kind: str = PEOPLE
    actor_id: int | None = None
    partner_id: int | None = None
    person_id: int | None = None
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive

    def describe(self) -> dict[str, Any]:
        """Return the filter as plain values (for the export's audit entry), leaving out what is unset."""
        values = {
            "kind": self.kind,
            "actor": self.actor_id,
            "bank": self.partner_id,
            "person": self.person_id,
            "action": self.action,
            "target": f"{self.target_type}:{self.target_id}" if self.target_type else "",
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value not in ("", None)}


def _id_after(moment: dt.datetime) -> Coalesce:
    """Return (as SQL) an id no entry written before `moment` has reached: the first id well after it."""
    ids = AuditEntry.objects.filter(created_at__gte=moment + CLOCK_SLACK).order_by("created_at")
    return Coalesce(Subquery(ids.values("id")[:1]), Value(LAST_ID))


def _id_before(moment: dt.datetime) -> Coalesce:
    """Return (as SQL) an id below every entry written from `moment` on: the last id well before it."""
    ids = AuditEntry.objects.filter(created_at__lt=moment - CLOCK_SLACK).order_by("-created_at")
    return Coalesce(Subquery(ids.values("id")[:1]), Value(0))


def trail_entries(trail: TrailFilter) -> QuerySet[AuditEntry]:
    """Return the entries `trail` selects, newest first, each with its place in the chain."""
    entries = AuditEntry.objects.select_related("link").order_by("-id")
    if trail.kind == PEOPLE:
        entries = entries.filter(BY_PERSON)
    elif trail.kind == MACHINE:
        entries = entries.filter(~BY_PERSON)
    if trail.actor_id is not None:
        entries = entries.filter(BY_PERSON, actor_id=str(trail.actor_id))
    if trail.partner_id is not None:
        entries = entries.filter(partner_id=trail.partner_id)
    if trail.person_id is not None:
        entries = entries.filter(person_id=trail.person_id)
    if trail.action:
        entries = entries.filter(action=trail.action)
    if trail.target_type:
        entries = entries.filter(target_type=trail.target_type, target_id=trail.target_id)
    # Each side of a date range is an exact time cut plus an id bound the primary key can seek to.
    if trail.since is not None:
        entries = entries.filter(Q(created_at__gte=trail.since), id__gt=_id_before(trail.since))
    if trail.until is not None:
        entries = entries.filter(Q(created_at__lt=trail.until), id__lt=_id_after(trail.until))
    return entries


_DISTINCT_ACTIONS_POSTGRESQL = """
WITH RECURSIVE found(action) AS (
    (SELECT action FROM compliance_auditentry ORDER BY action LIMIT 1)
    UNION ALL
    SELECT (SELECT e.action FROM compliance_auditentry e WHERE e.action > found.action ORDER BY e.action LIMIT 1)
    FROM found WHERE found.action IS NOT NULL
)
SELECT action FROM found WHERE action IS NOT NULL
"""


def known_actions(*, fresh: bool = False) -> list[str]:
    """Return every action the trail holds, in order (cached for a few minutes; `fresh` looks again).

    On PostgreSQL a loose index scan: one probe of the (action, id) index per distinct action, so a
    trail of tens of millions answers as fast as a small one.
    """
    actions: list[str] | None = None if fresh else cache.get(ACTIONS_CACHE_KEY)
    if actions is None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_DISTINCT_ACTIONS_POSTGRESQL)
                actions = [row[0] for row in cursor.fetchall()]
        else:
            actions = list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())
        cache.set(ACTIONS_CACHE_KEY, actions, ACTIONS_CACHE_SECONDS)
    return actions
