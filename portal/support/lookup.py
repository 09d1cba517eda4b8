"""The support lookup: what staff see of one person (links, grants, recent deliveries), audited first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from compliance.audit import audit_append
from consent.models import AccountLink, ConsentGrant
from delivery.models import Delivery
from portal.models import User

RECENT_DELIVERIES = 20


@dataclass
class PersonOnFile:
    """What a support lookup shows, read-only."""

    person: User
    links: list[AccountLink] = field(default_factory=list)
    grants: list[ConsentGrant] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)


def support_lookup(*, actor: User, email: str, reason: str, ip: str | None = None) -> PersonOnFile | None:
    """Return what the platform holds about the person signing in with `email`, or None when nobody does.

    The lookup is audited (`support.lookup`, with the reason, whether anyone was found) before anything
    is read, so no look at a person's data goes unrecorded; the entry concerns the person found.
    """
    person = User.objects.filter(email__iexact=email.strip()).first()
    with transaction.atomic():
        audit_append(
            action="support.lookup",
            actor=actor,
            target=person,
            data={"reason": reason.strip(), "found": person is not None},
            ip=ip,
        )
    if person is None:
        return None
    return PersonOnFile(
        person=person,
        links=list(AccountLink.objects.filter(user=person).select_related("partner").order_by("-linked_at", "-pk")),
        grants=list(
            ConsentGrant.objects.filter(user=person)
            .select_related("partner", "scope_version", "link")
            .order_by("-granted_at", "-pk")
        ),
        deliveries=list(
            Delivery.objects.filter(event__link__user=person)
            .select_related("event", "partner")
            .order_by("-created_at", "-pk")[:RECENT_DELIVERIES]
        ),
    )


def lookup_summary(found: PersonOnFile) -> dict[str, Any]:
    """Return the counts shown above the tables."""
    return {
        "links": sum(1 for link in found.links if link.status == AccountLink.Status.ACTIVE),
        "grants": sum(1 for grant in found.grants if grant.status == ConsentGrant.Status.ACTIVE),
        "failed": sum(1 for d in found.deliveries if d.status in (Delivery.Status.FAILED, Delivery.Status.DEAD)),
    }
