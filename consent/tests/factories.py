"""factory_boy factories and helpers for account links, grants and their events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from consent.connectors import LinkedAccount
from consent.models import AccountLink, ConsentEvent, ConsentGrant
from consent.purposes import mask_of, message_types_for
from consent.receipts import receipt_body, seal
from consent.services import GrantChoice, consent_grant, link_create
from consent.simulator import simulated_accounts
from partners.models import DataScope, Partner
from partners.tests.factories import PartnerFactory, published_scope
from portal.models import User
from portal.tests.factories import UserFactory


def live_bank(*scope_codes: str, **partner_fields: Any) -> Partner:
    """Return a live bank with published scopes (`balances.read` unless codes are given)."""
    bank = PartnerFactory(**{"status": Partner.Status.LIVE, **partner_fields})
    for code in scope_codes or ("balances.read",):
        published_scope(bank, code)
    return bank


def link_for(user: User, partner: Partner, account_number: int = 0) -> AccountLink:
    """Return `user`'s link to one of their simulated accounts at `partner`, made through the service."""
    account = simulated_accounts(user=user, partner=partner)[account_number]
    return link_create(
        user=user,
        partner=partner,
        account=LinkedAccount(account.account_ref, account.account_mask),
        actor=user,
    )


def grant_for(
    link: AccountLink,
    scope: DataScope | None = None,
    purpose: str | None = None,
    message_types: list[str] | None = None,
) -> ConsentGrant:
    """Return a grant on `link`, made through `consent_grant` as the person would."""
    scope = scope or link.partner.scopes.order_by("pk").first()
    assert scope is not None
    assert scope.published_version is not None
    version = scope.published_version
    purpose = purpose or version.purposes[0]
    types = message_types or message_types_for(purpose)
    [grant] = consent_grant(user=link.user, link=link, choices=[GrantChoice(version.pk, purpose, tuple(types))])
    return grant


def _scope_of(partner: Partner, code: str = "balances.read") -> DataScope:
    return partner.scopes.filter(code=code).first() or published_scope(partner, code)


class AccountLinkFactory(factory.django.DjangoModelFactory[AccountLink]):
    """A link made directly, for tests that need one at a bank the person could not link themselves."""

    class Meta:
        model = AccountLink

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)
    account_ref = factory.Sequence(lambda n: f"ref-{n:06d}")
    account_mask = factory.Sequence(lambda n: f"•••• {n % 10000:04d}")


class ConsentGrantFactory(factory.django.DjangoModelFactory[ConsentGrant]):
    """A grant made directly on a link, for the scope's published version and its first purpose."""

    class Meta:
        model = ConsentGrant

    link = factory.SubFactory(AccountLinkFactory)
    user = factory.SelfAttribute("link.user")
    partner = factory.SelfAttribute("link.partner")
    scope = factory.LazyAttribute(lambda o: _scope_of(o.link.partner))
    scope_version = factory.LazyAttribute(lambda o: o.scope.published_version)
    purpose = factory.LazyAttribute(lambda o: o.scope_version.purposes[0])
    message_types_mask = factory.LazyAttribute(lambda o: mask_of(message_types_for(o.purpose)))
    granted_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.granted_at + timedelta(days=90))


def event_for(grant: ConsentGrant, kind: str = ConsentEvent.Kind.GRANTED) -> ConsentEvent:
    """Return a sealed consent event (receipt) for `grant`, written directly."""
    event = ConsentEvent(
        kind=kind,
        user_id=grant.user_id,
        partner_id=grant.partner_id,
        link=grant.link,
        grant=grant,
        actor=ConsentGrant.RevokedBy.USER,
    )
    body = receipt_body(
        public_id=str(event.public_id),
        kind=kind,
        created_at=event.created_at,
        actor=event.actor,
        reason="",
        link=grant.link,
        grant=grant,
    )
    event.receipt_json, event.receipt_sha256 = seal(body)
    event.save()
    return event
