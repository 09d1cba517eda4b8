"""Helpers for delivery tests: a consenting person at a live bank, and events as banks post them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from consent.models import AccountLink, ConsentGrant
from consent.tests.factories import grant_for, link_for
from partners.models import DataScope, DataScopeVersion, Partner
from partners.services import scope_create
from partners.tests.factories import SCOPE_CONTENT, PartnerFactory, api_key_for
from portal.models import User
from portal.tests.factories import UserFactory

_numbers = itertools.count(1)


@dataclass
class Consenting:
    """A live bank, one person who linked an account there and granted account updates, and the bank's key."""

    bank: Partner
    user: User
    link: AccountLink
    grant: ConsentGrant
    api_key: str


def published_balances_scope(
    partner: Partner, code: str = "balances.read", purposes: list[str] | None = None
) -> DataScope:
    """Return scope `code` of `partner` (balances, for account updates unless `purposes` says otherwise),
    declared through the service and marked published directly.

    Directly, because `partners.services.scope_publish` locks with `select_for_update()` across a
    nullable `select_related`, which PostgreSQL refuses (reported to the partners owners).
    """
    content = {**SCOPE_CONTENT, "purposes": purposes or SCOPE_CONTENT["purposes"]}
    scope = scope_create(partner=partner, code=code, actor=None, **content)
    version = scope.versions.get()
    version.status, version.published_at = DataScopeVersion.Status.PUBLISHED, timezone.now()
    version.save(update_fields=["status", "published_at"])
    scope.published_version = version
    scope.save(update_fields=["published_version"])
    return scope


def delivery_bank(**fields: Any) -> Partner:
    """Return a live bank offering `balances.read` (account updates)."""
    bank = PartnerFactory(status=Partner.Status.LIVE, **fields)
    published_balances_scope(bank)
    return bank


def consenting(bank: Partner | None = None) -> Consenting:
    """Return a person at `bank` (a new live bank by default) who allowed balance updates."""
    bank = bank or delivery_bank()
    user = UserFactory()
    link = link_for(user, bank)
    grant = grant_for(link)
    return Consenting(bank, user, link, grant, api_key_for(bank))


def distinct_mask(number: int) -> str:
    """Return a mask of its own for each number (letters past 9999), never more than four digits."""
    letters, rest = "", number // 10_000
    while rest:
        rest, letter = divmod(rest - 1, 26)
        letters = chr(65 + letter) + letters
    return f"{letters} •••• {number % 10_000:04d}".strip()


def balance_event(
    link_id: int, *, event_id: str | None = None, as_of: str | None = None, mask: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Return a valid `balance_update` event for `link_id` (each of its own account unless `mask` is given)."""
    number = next(_numbers)
    event: dict[str, Any] = {
        "type": "balance_update",
        "link": link_id,
        "payload": {
            "account_mask": mask or distinct_mask(number),
            "balance": f"{1000 + number}.50",
            "available": f"{900 + number}.00",
            "currency": "GBP",
            "as_of": as_of or datetime(2026, 1, 1, 12, 0, number % 60, tzinfo=UTC).isoformat(),
        },
        **extra,
    }
    if event_id is not None:
        event["event_id"] = event_id
    return event
