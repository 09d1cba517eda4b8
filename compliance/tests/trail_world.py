"""A small trail to filter: two banks, two people, staff, machine traffic, entries on known days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from unittest import mock

from django.utils import timezone

from compliance.audit import Actor, audit_append, audit_seal
from compliance.models import AuditEntry
from partners.models import Partner
from partners.tests.factories import PartnerFactory
from portal.models import User
from portal.tests.factories import ComplianceStaffFactory, UserFactory

DAY = dt.timedelta(days=1)
CHANGE = {"before": {"status": "active"}, "after": {"status": "revoked"}}


def append_at(moment: dt.datetime, **kwargs: object) -> AuditEntry:
    """Append an entry as if written at `moment` (entries must still be appended in time order)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        return audit_append(**kwargs)  # type: ignore[arg-type]


@dataclass
class TrailWorld:
    bank_a: Partner
    bank_b: Partner
    alice: User  # a person, about whom things happen at bank A
    bob: User  # a person at bank B
    officer: User  # compliance staff
    start: dt.datetime  # the first made-up entry's time; one entry a day from then
    named: dict[str, AuditEntry] = field(default_factory=dict)

    def ids(self, *names: str) -> set[int]:
        return {self.named[name].pk for name in names}


def trail_world() -> TrailWorld:
    """Return banks, people and nine entries, one a day, ten days ago onwards (then sealed)."""
    start = (timezone.now() - 10 * DAY).replace(microsecond=0)
    # What the factories write comes first in time too, so ids and times agree as in real life.
    with mock.patch("django.utils.timezone.now", return_value=start - DAY):
        bank_a, bank_b = PartnerFactory(legal_name="Alpha Bank plc"), PartnerFactory(legal_name="Beta Bank plc")
        alice, bob = UserFactory(email="alice@example.test"), UserFactory(email="bob@example.test")
        officer = ComplianceStaffFactory(email="officer@example.test")
    world = TrailWorld(bank_a, bank_b, alice, bob, officer, start)
    system, machine_a = Actor.system("beat"), Actor(type=AuditEntry.ActorType.API_KEY, id="7", label="key of A")
    plan = [
        ("alice_grant", {"action": "test.grant", "actor": alice, "target": alice}),
        ("officer_on_a", {"action": "test.partner_review", "actor": officer, "target": bank_a}),
        ("machine_on_a", {"action": "test.event", "actor": machine_a, "target": bank_a}),
        ("system_expiry", {"action": "test.expire", "actor": system, "target": alice}),
        ("bob_grant", {"action": "test.grant", "actor": bob, "target": bob}),
        ("officer_on_b", {"action": "test.partner_review", "actor": officer, "target": bank_b}),
        ("alice_revoke", {"action": "test.revoke", "actor": alice, "target": alice, "data": CHANGE}),
        ("machine_on_b", {"action": "test.event", "actor": system, "target": bank_b}),
        ("bob_revoke", {"action": "test.revoke", "actor": bob, "target": bob}),
    ]  # fmt: skip
    for day, (name, kwargs) in enumerate(plan):
        world.named[name] = append_at(start + day * DAY, **kwargs)
    audit_seal()
    return world
