"""factory_boy factories for partner banks, their members and API keys."""

from __future__ import annotations

import factory

from partners.models import Partner, PartnerApiKey, PartnerMembership
from partners.services import partner_api_key_create, partner_member_add
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


def api_key_for(partner: Partner, environment: str = PartnerApiKey.Environment.SANDBOX) -> str:
    """Return a new raw API key of `partner`, made through the service."""
    return partner_api_key_create(partner=partner, name="test key", environment=environment)[1]
