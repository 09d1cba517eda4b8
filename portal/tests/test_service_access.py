"""Every write service that acts for a bank, called directly by every kind of actor, against the bank's policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from compliance.audit import Actor
from compliance.models import AuditEntry
from consent.tests.factories import AccountLinkFactory
from delivery import services as delivery_services
from delivery.models import Delivery, PartnerEvent, WebhookMessage
from partners import services
from partners.models import (
    DataScope,
    Invitation,
    Partner,
    PartnerApiKey,
    PartnerMembership,
    TermsAcceptance,
    UsageTerms,
)
from partners.policy import BankAction, actions_of_role
from partners.tests.factories import SCOPE_CONTENT, PartnerFactory, capability_for, member_of, webhook_endpoint_for
from portal.errors import PermissionDenied
from portal.tests.factories import PlatformStaffFactory, UserFactory

pytestmark = pytest.mark.django_db

MANAGER, DEVELOPER, CONTACT = "manager", "developer", "compliance_contact"
OTHER_MANAGER, OWN_KEY, OTHER_KEY, STAFF, PLATFORM = "other_manager", "own_key", "other_key", "staff", "platform"
ACTORS = (MANAGER, DEVELOPER, CONTACT, OTHER_MANAGER, OWN_KEY, OTHER_KEY, STAFF, PLATFORM)

# Who may, spelled out here independently of partners/policy.py so that a change there shows up.
WRITERS = frozenset({MANAGER, DEVELOPER, PLATFORM})
API = frozenset({OWN_KEY})
MANAGERS = frozenset({MANAGER, PLATFORM})
REPLAYERS = WRITERS | API | {STAFF}


@dataclass
class Bank:
    """A live bank with one member of each role, an outsider, keys, and something of each kind to act on."""

    partner: Partner
    actors: dict[str, Any]

    def dead_letter(self) -> Delivery:
        """Return a dead delivery of the bank."""
        link = AccountLinkFactory(partner=self.partner)
        event = PartnerEvent.objects.create(
            partner=self.partner,
            link=link,
            type="receipt",
            payload={},
            idempotency_key=f"dead-{link.pk}",
            request_hash="0",
            status=PartnerEvent.Status.FAILED,
        )
        return Delivery.objects.create(event=event, partner=self.partner, channel="inbox", status=Delivery.Status.DEAD)

    def dead_webhook(self) -> WebhookMessage:
        """Return a dead webhook message to a new endpoint of the bank."""
        endpoint = webhook_endpoint_for(self.partner, url=f"https://bank.example/{WebhookMessage.objects.count()}")
        return WebhookMessage.objects.create(
            partner=self.partner,
            endpoint=endpoint,
            event_type="consent.granted",
            payload={},
            status=WebhookMessage.Status.DEAD,
        )


@pytest.fixture
def bank() -> Bank:
    partner = PartnerFactory(status=Partner.Status.LIVE)
    other = PartnerFactory(status=Partner.Status.LIVE)
    services.partner_api_key_create(partner=partner, name="servers", environment="live")
    services.partner_api_key_create(partner=other, name="servers", environment="live")
    services.terms_publish(title="Usage terms", body="Be good.", actor=None)
    actors = {
        MANAGER: member_of(partner),
        DEVELOPER: member_of(partner, PartnerMembership.Role.DEVELOPER),
        CONTACT: member_of(partner, PartnerMembership.Role.COMPLIANCE),
        OTHER_MANAGER: member_of(other),
        OWN_KEY: PartnerApiKey.objects.get(partner=partner),
        OTHER_KEY: PartnerApiKey.objects.get(partner=other),
        STAFF: PlatformStaffFactory(),
        PLATFORM: Actor.system("test"),
    }
    return Bank(partner, actors)


def _new_member(bank: Bank) -> PartnerMembership:
    return bank.partner.memberships.get(user=member_of(bank.partner, PartnerMembership.Role.DEVELOPER))


def _invitation(bank: Bank) -> Invitation:
    return services.invitation_create(partner=bank.partner, email="new@bank.example", role="developer", actor=None)[0]


def _scope(bank: Bank) -> DataScope:
    return services.scope_create(partner=bank.partner, code="balances.read", actor=None, **SCOPE_CONTENT)


def _since() -> datetime:
    return timezone.now() - timedelta(hours=1)


@dataclass(frozen=True)
class Case:
    """One write service: who may call it, what it acts on (made by the platform), and the call."""

    allowed: frozenset[str]
    act: Callable[[Bank, Any, Any], Any]  # (bank, the prepared object, actor)
    prepare: Callable[[Bank], Any] = lambda bank: None


S, D = services, delivery_services
SERVICES: dict[str, Case] = {
    "scope_create": Case(
        WRITERS | API,
        lambda b, _, actor: S.scope_create(partner=b.partner, code="savings.read", actor=actor, **SCOPE_CONTENT),
    ),
    "scope_update": Case(
        WRITERS | API, lambda b, scope, actor: S.scope_update(scope=scope, actor=actor, name="New"), _scope
    ),
    "scope_publish": Case(WRITERS | API, lambda b, scope, actor: S.scope_publish(scope=scope, actor=actor), _scope),
    "scope_retire": Case(WRITERS | API, lambda b, scope, actor: S.scope_retire(scope=scope, actor=actor), _scope),
    "capability_create": Case(
        WRITERS | API,
        lambda b, _, actor: S.capability_create(
            partner=b.partner,
            code="nearest_atm",
            actor=actor,
            name="ATM",
            description="Find an ATM.",
            message_types=["chat_reply"],
        ),
    ),
    "capability_update": Case(
        WRITERS | API,
        lambda b, capability, actor: S.capability_update(capability=capability, actor=actor, name="Hi"),
        lambda b: capability_for(b.partner),
    ),
    "partner_api_key_create": Case(
        WRITERS,
        lambda b, _, actor: S.partner_api_key_create(partner=b.partner, name="k", environment="live", actor=actor),
    ),
    # Platform staff revoke a leaked key (the admin's action); they create or rotate none.
    "partner_api_key_revoke": Case(
        WRITERS | {STAFF}, lambda b, _, actor: S.partner_api_key_revoke(key=b.actors[OWN_KEY], actor=actor)
    ),
    "partner_api_key_rotate": Case(
        WRITERS, lambda b, _, actor: S.partner_api_key_rotate(key=b.actors[OWN_KEY], actor=actor)
    ),
    "webhook_endpoint_create": Case(
        WRITERS | API,
        lambda b, _, actor: S.webhook_endpoint_create(
            partner=b.partner, url="https://bank.example/h", event_types=["consent.granted"], actor=actor
        ),
    ),
    "webhook_endpoint_update": Case(
        WRITERS | API,
        lambda b, endpoint, actor: S.webhook_endpoint_update(endpoint=endpoint, actor=actor, description="d"),
        lambda b: webhook_endpoint_for(b.partner),
    ),
    "webhook_endpoint_disable": Case(
        WRITERS | API,
        lambda b, endpoint, actor: S.webhook_endpoint_disable(endpoint=endpoint, reason="r", actor=actor),
        lambda b: webhook_endpoint_for(b.partner),
    ),
    "webhook_endpoint_delete": Case(
        WRITERS | API,
        lambda b, endpoint, actor: S.webhook_endpoint_delete(endpoint=endpoint, actor=actor),
        lambda b: webhook_endpoint_for(b.partner),
    ),
    "webhook_endpoint_rotate_secret": Case(
        WRITERS | API,
        lambda b, endpoint, actor: S.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=actor),
        lambda b: webhook_endpoint_for(b.partner),
    ),
    "partner_member_add": Case(
        MANAGERS,
        lambda b, person, actor: S.partner_member_add(partner=b.partner, user=person, role="developer", actor=actor),
        lambda b: UserFactory(),
    ),
    "partner_member_remove": Case(
        MANAGERS, lambda b, membership, actor: S.partner_member_remove(membership=membership, actor=actor), _new_member
    ),
    "invitation_create": Case(
        MANAGERS,
        lambda b, _, actor: S.invitation_create(
            partner=b.partner, email="i@bank.example", role="developer", actor=actor
        ),
    ),
    "invitation_revoke": Case(
        MANAGERS, lambda b, invitation, actor: S.invitation_revoke(invitation=invitation, actor=actor), _invitation
    ),
    "terms_accept": Case(
        MANAGERS,
        lambda b, terms, actor: S.terms_accept(partner=b.partner, terms=terms, user=actor),
        lambda b: UsageTerms.objects.current(),
    ),
    "delivery_replay": Case(
        REPLAYERS, lambda b, dead, actor: D.delivery_replay(deliveries=[dead], actor=actor), Bank.dead_letter
    ),
    "webhook_replay": Case(
        REPLAYERS,
        lambda b, dead, actor: D.webhook_replay(endpoint=dead.endpoint, since=_since(), actor=actor),
        Bank.dead_webhook,
    ),
}
# `terms_accept` records the person who accepted, so the platform never calls it.
PAIRS = [(service, actor) for service in SERVICES for actor in ACTORS if (service, actor) != ("terms_accept", PLATFORM)]


def _writes() -> int:
    return AuditEntry.objects.exclude(action="partner.refused").count()


@pytest.mark.parametrize(("service", "actor_name"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_each_write_service_asks_the_bank_policy(bank: Bank, service: str, actor_name: str) -> None:
    case = SERVICES[service]
    target = case.prepare(bank)
    actor = bank.actors[actor_name]
    if actor_name in case.allowed:
        case.act(bank, target, actor)
        return
    writes = _writes()
    with pytest.raises(PermissionDenied) as caught:
        case.act(bank, target, actor)
    assert (caught.value.code, caught.value.status) == ("not_allowed", 403)
    assert "Nothing was changed" in caught.value.message
    assert _writes() == writes  # every write is audited: no new entry, no change
    assert AuditEntry.objects.filter(action="partner.refused").count() == 1


def test_the_compliance_contact_cannot_replay_and_the_dead_letters_stay_dead(bank: Bank) -> None:
    dead, webhook = bank.dead_letter(), bank.dead_webhook()
    contact = bank.actors[CONTACT]
    with pytest.raises(PermissionDenied):
        delivery_services.delivery_replay(deliveries=[dead], actor=contact)
    with pytest.raises(PermissionDenied):
        delivery_services.webhook_replay(endpoint=webhook.endpoint, since=_since(), actor=contact)
    dead.refresh_from_db()
    webhook.refresh_from_db()
    assert (dead.status, webhook.status) == (Delivery.Status.DEAD, WebhookMessage.Status.DEAD)
    assert not AuditEntry.objects.filter(action__in=["delivery.replay", "delivery.webhook_replay"]).exists()
    refusals = AuditEntry.objects.filter(action="partner.refused")
    assert [entry.data["bank_action"] for entry in refusals] == ["replay", "replay"]


def test_a_developer_cannot_invite_or_accept_terms(bank: Bank) -> None:
    developer = bank.actors[DEVELOPER]
    with pytest.raises(PermissionDenied):
        services.invitation_create(partner=bank.partner, email="x@bank.example", role="manager", actor=developer)
    with pytest.raises(PermissionDenied):
        services.terms_accept(partner=bank.partner, terms=UsageTerms.objects.current(), user=developer)
    assert not Invitation.objects.filter(partner=bank.partner).exists()
    assert not TermsAcceptance.objects.filter(partner=bank.partner).exists()


def test_staff_replaying_several_banks_needs_no_membership(bank: Bank) -> None:
    other = Bank(PartnerFactory(status=Partner.Status.LIVE), {})
    rows = [bank.dead_letter(), other.dead_letter()]
    assert delivery_services.delivery_replay(deliveries=rows, actor=bank.actors[STAFF]) == 2


def test_a_bank_manager_cannot_replay_another_banks_letters_among_their_own(bank: Bank) -> None:
    other = Bank(PartnerFactory(status=Partner.Status.LIVE), {})
    rows = [bank.dead_letter(), other.dead_letter()]
    with pytest.raises(PermissionDenied):
        delivery_services.delivery_replay(deliveries=rows, actor=bank.actors[MANAGER])
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DEAD}


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        (PartnerMembership.Role.MANAGER, set(BankAction)),
        (
            PartnerMembership.Role.DEVELOPER,
            {
                BankAction.VIEW,
                BankAction.MANAGE_CATALOG,
                BankAction.MANAGE_KEYS,
                BankAction.REVOKE_KEY,
                BankAction.MANAGE_WEBHOOKS,
                BankAction.REPLAY,
            },
        ),
        (PartnerMembership.Role.COMPLIANCE, {BankAction.VIEW, BankAction.READ_TRAIL}),
    ],
)
def test_the_role_table(role: str, actions: set[BankAction]) -> None:
    assert actions_of_role(role) == actions
