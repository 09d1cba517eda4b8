"""What the portal holds about one person, section by section: the rows an archive is made of.

Each section is a query over one table, filtered to the person, read in chunks (`iterator`), and the
fields each row shows. The archive writes them; erasure clears the same tables (`erasure`), so a table
holding something about a person belongs in both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from consent.models import AccountLink, ConsentEvent, ConsentGrant
from delivery.models import Delivery, DeliveryAttempt, InboxMessage, PartnerEvent
from portal.models import User

from ..models import AuditEntry
from .models import DataRequest

CHUNK = 2000


@dataclass(frozen=True)
class Section:
    """One part of the archive: a title for people, the rows' query, and how to show one row."""

    key: str
    title: str
    explanation: str
    rows: Callable[[User], QuerySet[Any]]
    fields: Callable[[Any], dict[str, Any]]

    def iterate(self, person: User) -> Iterator[dict[str, Any]]:
        """Return the person's rows of this section as plain dicts, read in chunks."""
        for row in self.rows(person).iterator(chunk_size=CHUNK):
            yield self.fields(row)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# Actions that record an address without naming the person it belongs to (a failed sign-in records
# the address typed; an invitation the address invited): the archive looks for the address in these.
ADDRESS_ACTIONS = ("auth.login_failed", "partner.invite", "partner.invitation_accept", "partner.invitation_revoke")


def audit_entries_about(person: User, email: str | None = None, *, thorough: bool = False) -> QuerySet[AuditEntry]:
    """Return the audit entries about the person, made by them, or naming their address.

    Each condition reads an index (the person, the actor, the action), so the archive of the busiest
    person stays quick on a trail of tens of millions. `thorough` (erasure) also scans every entry's
    labels and data for the address: slow on a large trail, and run once per erasure.
    """
    email = email or person.email
    about = (
        Q(person_id=person.pk)
        | Q(actor_type=AuditEntry.ActorType.USER, actor_id=str(person.pk))
        | Q(action__in=ADDRESS_ACTIONS, data_json__icontains=email)
    )
    if thorough:
        about |= Q(actor_label__icontains=email) | Q(target_label__icontains=email) | Q(data_json__icontains=email)
    return AuditEntry.objects.filter(about)


SECTIONS: tuple[Section, ...] = (
    Section(
        "links",
        "Bank accounts you linked",
        "Each account you connected, at which bank, and the masked number the bank gave us.",
        lambda person: AccountLink.objects.filter(user=person).select_related("partner").order_by("pk"),
        lambda link: {
            "id": link.pk,
            "bank": link.partner.legal_name,
            "account_mask": link.account_mask,
            "account_ref": link.account_ref,
            "status": link.status,
            "linked_at": _iso(link.linked_at),
            "unlinked_at": _iso(link.unlinked_at),
        },
    ),
    Section(
        "grants",
        "Permissions you gave",
        "What each bank may send you, for which purpose, and until when.",
        lambda person: ConsentGrant.objects.filter(user=person)
        .select_related("partner", "scope", "scope_version")
        .order_by("pk"),
        lambda grant: {
            "id": grant.pk,
            "link": grant.link_id,
            "bank": grant.partner.legal_name,
            "scope": grant.scope.code,
            "scope_version": grant.scope_version.number,
            "purpose": grant.purpose,
            "message_types": grant.message_types,
            "status": grant.status,
            "granted_at": _iso(grant.granted_at),
            "expires_at": _iso(grant.expires_at),
            "revoked_at": _iso(grant.revoked_at),
            "revoked_by": grant.revoked_by,
            "deletion_attested_at": _iso(grant.deletion_attested_at),
        },
    ),
    Section(
        "consent_events",
        "Consent history and receipts",
        "Every change to your permissions; each is a receipt whose SHA-256 you can check.",
        lambda person: ConsentEvent.objects.filter(user=person).order_by("pk"),
        lambda event: {
            "receipt_id": str(event.public_id),
            "kind": event.kind,
            "link": event.link_id,
            "grant": event.grant_id,
            "by": event.actor,
            "reason": event.reason,
            "created_at": _iso(event.created_at),
            "receipt": json.loads(event.receipt_json),
            "receipt_sha256": event.receipt_sha256,
        },
    ),
    Section(
        "inbox",
        "Your inbox",
        "The messages banks sent you through the portal.",
        lambda person: InboxMessage.objects.filter(user=person).select_related("partner").order_by("pk"),
        lambda message: {
            "id": message.pk,
            "bank": message.partner.legal_name,
            "type": message.type,
            "title": message.title,
            "body": message.body,
            "created_at": _iso(message.created_at),
            "read_at": _iso(message.read_at),
        },
    ),
    Section(
        "events",
        "Updates banks posted for you",
        "What each bank sent us to pass on to you (kept for a limited time, then only its outline).",
        lambda person: PartnerEvent.objects.filter(link__user=person).order_by("pk"),
        lambda event: {
            "id": event.pk,
            "link": event.link_id,
            "type": event.type,
            "status": event.status,
            "payload": event.payload,
            "created_at": _iso(event.created_at),
        },
    ),
    Section(
        "deliveries",
        "Deliveries to you",
        "Each time we passed an update on to your inbox or messenger, and how it went.",
        lambda person: Delivery.objects.filter(event__link__user=person).order_by("pk"),
        lambda delivery: {
            "id": delivery.pk,
            "event": delivery.event_id,
            "channel": delivery.channel,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "created_at": _iso(delivery.created_at),
            "delivered_at": _iso(delivery.delivered_at),
        },
    ),
    Section(
        "delivery_attempts",
        "Delivery attempts",
        "Each try at a delivery and its answer.",
        lambda person: DeliveryAttempt.objects.filter(delivery__event__link__user=person).order_by("pk"),
        lambda attempt: {
            "delivery": attempt.delivery_id,
            "attempted_at": _iso(attempt.attempted_at),
            "status_code": attempt.status_code,
            "succeeded": attempt.succeeded,
            "error": attempt.error,
        },
    ),
    Section(
        "data_requests",
        "Requests about your data",
        "Copies of your data and erasures asked for, by you or by our compliance team.",
        lambda person: DataRequest.objects.filter(user=person).order_by("pk"),
        lambda request: {
            "id": request.pk,
            "kind": request.kind,
            "by_you": request.by_the_person,
            "reference": request.reference,
            "state": request.state,
            "created_at": _iso(request.created_at),
        },
    ),
    Section(
        "audit",
        "Our audit trail about you",
        "Every recorded action about you or by you, as the tamper-evident trail holds it.",
        lambda person: audit_entries_about(person).order_by("pk"),
        lambda entry: {
            "id": entry.pk,
            "created_at": _iso(entry.created_at),
            "action": entry.action,
            "by": entry.actor_label or entry.actor_type,
            "target": f"{entry.target_type} {entry.target_id}".strip(),
            "target_label": entry.target_label,
            "data": entry.data,
        },
    ),
)


def person_profile(person: User) -> dict[str, Any]:
    """Return the person's own account details."""
    return {
        "id": person.pk,
        "email": person.email,
        "full_name": person.full_name,
        "time_zone": person.time_zone,
        "date_joined": _iso(person.date_joined),
        "last_login": _iso(person.last_login),
        "active": person.is_active,
    }


def holdings_count(person: User) -> int:
    """Return how many rows all sections hold about the person (the archive's progress total)."""
    return sum(section.rows(person).count() for section in SECTIONS)
