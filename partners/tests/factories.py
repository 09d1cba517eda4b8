"""factory_boy factories for partner banks, their members and API keys."""

from __future__ import annotations

import factory

from partners.models import ChatbotCapability, DataScope, Partner, PartnerApiKey, PartnerMembership, WebhookEndpoint
from partners.services import (
    capability_create,
    partner_api_key_create,
    partner_member_add,
    scope_create,
    scope_publish,
    webhook_endpoint_create,
)
from portal.models import User
from portal.tests.factories import UserFactory


class PartnerFactory(factory.django.DjangoModelFactory[Partner]):
    """A bank in the sandbox."""

    class Meta:
        model = Partner
        django_get_or_create = ("slug",)

    legal_name = factory.Sequence(lambda n: f"Bank {n} plc")
    slug = factory.Sequence(lambda n: f"bank-{n}")
    status = Partner.Status.SANDBOX


def member_of(partner: Partner, role: str = PartnerMembership.Role.MANAGER, user: User | None = None) -> User:
    """Return a person who is a member of `partner` with `role`, made through the service."""
    user = user or UserFactory()
    partner_member_add(partner=partner, user=user, role=role)
    return user


def api_key_for(partner: Partner, environment: str | None = None) -> str:
    """Return a new raw API key of `partner`, made through the service: live for a live bank, else sandbox."""
    if environment is None:
        live = partner.status == Partner.Status.LIVE
        environment = PartnerApiKey.Environment.LIVE if live else PartnerApiKey.Environment.SANDBOX
    return partner_api_key_create(partner=partner, name="test key", environment=environment)[1]


SCOPE_CONTENT = {
    "name": "Your account balances",
    "description": "Your current and available balance, so we can message you when it changes.",
    "category": "balances",
    "fields": [
        {"name": "balance", "description": "Current balance"},
        {"name": "available", "description": "Available"},
    ],
    "purposes": ["account_updates"],
    "sensitivity": "low",
    "retention_days": 30,
    "max_duration_days": 180,
}


def published_scope(partner: Partner, code: str = "balances.read", **content: object) -> DataScope:
    """Return a published scope of `partner`, made through the services."""
    scope = scope_create(partner=partner, code=code, actor=None, **{**SCOPE_CONTENT, **content})
    scope_publish(scope=scope, actor=None)
    scope.refresh_from_db()
    return scope


def capability_for(
    partner: Partner, code: str = "check_balance", scope_codes: list[str] | None = None
) -> ChatbotCapability:
    """Return a capability of `partner` that needs `scope_codes` (published first when missing)."""
    codes = scope_codes or ["balances.read"]
    for scope_code in codes:
        if not partner.scopes.filter(code=scope_code).exists():
            published_scope(partner, scope_code)
    return capability_create(
        partner=partner,
        code=code,
        actor=None,
        name="Check my balance",
        description="Ask the bot for your balance.",
        sample_utterances=["What's my balance?"],
        scopes=codes,
        message_types=["balance_update", "chat_reply"],
    )


def webhook_endpoint_for(partner: Partner, url: str = "https://bank.example/hooks") -> WebhookEndpoint:
    """Return a webhook endpoint of `partner` for every event."""
    return webhook_endpoint_create(
        partner=partner, url=url, event_types=["consent.granted", "consent.revoked"], actor=None
    )[0]
