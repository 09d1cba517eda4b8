"""The consent rule against a plain-Python oracle, over random worlds (hypothesis)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.models import AccountLink, ConsentGrant
from consent.purposes import MESSAGE_TYPE_BITS, message_types_for, purpose_of
from consent.rules import LIVE, SANDBOX, bank_open_to, consent_check, consent_check_many
from partners.models import DataScope, DataScopeVersion, Partner, PartnerMembership, Purpose
from portal.models import User

pytestmark = pytest.mark.django_db

STATUSES = list(Partner.Status.values)
PURPOSES = list(Purpose.values)
MESSAGE_TYPES = list(MESSAGE_TYPE_BITS)
ENVIRONMENTS = [None, SANDBOX, LIVE]
GRANT_STATES = list(ConsentGrant.Status.values)
EXPIRY = {"past": timedelta(days=-1), "now": timedelta(0), "future": timedelta(days=1)}


@dataclass(frozen=True)
class ScopeSpec:
    purposes: frozenset[str]
    retired: bool
    republished: bool


@dataclass(frozen=True)
class GrantSpec:
    bank: int
    person: int
    scope: int
    purpose: str
    state: str
    expiry: str
    mask: int
    on_old_version: bool


@dataclass(frozen=True)
class World:
    banks: list[str]
    members: frozenset[tuple[int, int]]
    scopes: list[list[ScopeSpec]]
    grants: list[GrantSpec]


PEOPLE = 2
scope_specs = st.builds(
    ScopeSpec,
    purposes=st.frozensets(st.sampled_from(PURPOSES), min_size=1),
    retired=st.booleans(),
    republished=st.booleans(),
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    banks = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3))
    pairs = list(itertools.product(range(len(banks)), range(PEOPLE)))
    members = draw(st.frozensets(st.sampled_from(pairs)))
    scopes = [draw(st.lists(scope_specs, min_size=1, max_size=2)) for _bank in banks]
    grants = []
    for _ in range(draw(st.integers(0, 8))):
        bank = draw(st.integers(0, len(banks) - 1))
        scope = draw(st.integers(0, len(scopes[bank]) - 1))
        purpose = draw(st.sampled_from(sorted(scopes[bank][scope].purposes)))
        bits = [MESSAGE_TYPE_BITS[t] for t in message_types_for(purpose)]
        chosen = draw(st.lists(st.sampled_from(bits), min_size=1, unique=True))
        grants.append(
            GrantSpec(
                bank=bank,
                person=draw(st.integers(0, PEOPLE - 1)),
                scope=scope,
                purpose=purpose,
                state=draw(st.sampled_from(GRANT_STATES)),
                expiry=draw(st.sampled_from(list(EXPIRY))),
                mask=sum(chosen),
                on_old_version=draw(st.booleans()),
            )
        )
    return World(banks, members, scopes, grants)


def oracle(
    world: World, *, bank: int, grant_specs: list[GrantSpec], message_type: str, environment: str | None
) -> bool:
    """Return the rule's answer, written out in plain Python over the world's description."""
    status = world.banks[bank]
    purpose = purpose_of(message_type)
    for spec in grant_specs:
        tester = (spec.bank, spec.person) in world.members
        if environment == LIVE:
            reached = status == Partner.Status.LIVE
        elif environment == SANDBOX:
            reached = status in (Partner.Status.SANDBOX, Partner.Status.LIVE) and tester
        else:
            reached = status == Partner.Status.LIVE or (status == Partner.Status.SANDBOX and tester)
        if (
            spec.bank == bank
            and spec.purpose == purpose
            and spec.state == ConsentGrant.Status.ACTIVE
            and EXPIRY[spec.expiry] > timedelta(0)
            and not world.scopes[spec.bank][spec.scope].retired
            and spec.mask & MESSAGE_TYPE_BITS[message_type]
            and reached
        ):
            return True
    return False


def _version(scope: DataScope, number: int, status: str, purposes: frozenset[str]) -> DataScopeVersion:
    return DataScopeVersion.objects.create(
        scope=scope,
        number=number,
        status=status,
        name=f"Scope {scope.code}",
        description="What it covers.",
        category="balances",
        fields=[{"name": "balance", "description": "Balance"}],
        purposes=sorted(purposes),
        retention_days=30,
        max_duration_days=90,
    )


def _build(world: World, now: datetime) -> tuple[list[Partner], dict[tuple[int, int], AccountLink], list[GrantSpec]]:
    """Write the world to the database; return its banks, links by (bank, person), and the grants written."""
    people = [User.objects.create_user(email=f"person{i}@rules.example", password=None) for i in range(PEOPLE)]
    banks = [
        Partner.objects.create(slug=f"rules-{i}", legal_name=f"Rules {i}", status=s) for i, s in enumerate(world.banks)
    ]
    for bank, person in world.members:
        PartnerMembership.objects.create(
            partner=banks[bank], user=people[person], role=PartnerMembership.Role.DEVELOPER
        )
    versions: dict[tuple[int, int], tuple[DataScopeVersion, DataScopeVersion]] = {}
    for b, specs in enumerate(world.scopes):
        for s, spec in enumerate(specs):
            scope = DataScope.objects.create(partner=banks[b], code=f"scope{s}.read")
            old = _version(scope, 1, DataScopeVersion.Status.SUPERSEDED, spec.purposes) if spec.republished else None
            current = _version(scope, 2, DataScopeVersion.Status.PUBLISHED, spec.purposes)
            if spec.retired:
                scope.retired_at = now - timedelta(hours=1)
                current.status = DataScopeVersion.Status.RETIRED
                current.save(update_fields=["status"])
            scope.published_version = current
            scope.save()
            versions[(b, s)] = (old or current, current)
    links: dict[tuple[int, int], AccountLink] = {}
    written: list[GrantSpec] = []
    active_keys: set[tuple[int, int, int, str]] = set()
    for spec in world.grants:
        key = (spec.bank, spec.person, spec.scope, spec.purpose)
        if spec.state == ConsentGrant.Status.ACTIVE and key in active_keys:
            continue  # the database allows one active grant per link, scope and purpose
        if spec.state == ConsentGrant.Status.ACTIVE:
            active_keys.add(key)
        link = links.get((spec.bank, spec.person))
        if link is None:
            link = AccountLink.objects.create(
                user=people[spec.person], partner=banks[spec.bank], account_ref=f"acc-{spec.bank}-{spec.person}"
            )
            links[(spec.bank, spec.person)] = link
        old, current = versions[(spec.bank, spec.scope)]
        revoked = spec.state == ConsentGrant.Status.REVOKED
        ConsentGrant.objects.create(
            user=people[spec.person],
            link=link,
            partner=banks[spec.bank],
            scope=current.scope,
            scope_version=old if spec.on_old_version else current,
            purpose=spec.purpose,
            message_types_mask=spec.mask,
            status=spec.state,
            granted_at=now - timedelta(days=10),
            expires_at=now + EXPIRY[spec.expiry],
            revoked_at=now - timedelta(hours=2) if revoked else None,
            revoked_by=ConsentGrant.RevokedBy.USER if revoked else "",
        )
        written.append(spec)
    return banks, links, written


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds())
def test_the_rule_answers_as_the_oracle_in_every_world(world: World) -> None:
    now = timezone.now()
    with transaction.atomic():
        banks, links, grants = _build(world, now)
        for (bank_index, bank), environment in itertools.product(enumerate(banks), ENVIRONMENTS):
            pairs = {(link.pk, message_type) for link in links.values() for message_type in MESSAGE_TYPES}
            many = consent_check_many(partner_id=bank.pk, pairs=pairs, environment=environment, at=now)
            for (link_bank, person), link in links.items():
                on_link = [g for g in grants if (g.bank, g.person) == (link_bank, person)]
                for message_type in MESSAGE_TYPES:
                    expected = oracle(
                        world, bank=bank_index, grant_specs=on_link, message_type=message_type, environment=environment
                    )
                    context = (
                        f"bank {bank_index} ({bank.status}), link {(link_bank, person)}, {message_type}, {environment}"
                    )
                    assert (
                        consent_check(
                            partner_id=bank.pk,
                            link_id=link.pk,
                            message_type=message_type,
                            environment=environment,
                            at=now,
                        )
                        is expected
                    ), context
                    assert ((link.pk, message_type) in many) is expected, context
        transaction.set_rollback(True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=st.sampled_from(STATUSES), member=st.booleans())
def test_a_person_may_link_where_the_bank_reaches_them(status: str, member: bool) -> None:
    with transaction.atomic():
        person = User.objects.create_user(email="linker@rules.example", password=None)
        bank = Partner.objects.create(slug="rules-open", legal_name="Rules Open", status=status)
        if member:
            PartnerMembership.objects.create(partner=bank, user=person, role=PartnerMembership.Role.MANAGER)
        expected = status == Partner.Status.LIVE or (status == Partner.Status.SANDBOX and member)
        assert bank_open_to(bank, person) is expected
        transaction.set_rollback(True)
