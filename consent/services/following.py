"""Grants following their scope's newest published version: a grant never allows more than it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from compliance.audit import Actor
from partners.models import DataScope, DataScopeVersion, Purpose
from portal.moments import day

from .. import signals
from ..models import AccountLink, ConsentEvent, ConsentGrant, GrantScopeChange
from .locks import lock_link
from .records import announce_change, audit_grant, record_event
from .revoking import end_grant

Outcome = GrantScopeChange.Outcome
SYSTEM = ConsentGrant.RevokedBy.SYSTEM

# How each outcome is announced in `consent_changed` (and so to the bank's consent.* webhooks).
EVENT_OF_OUTCOME = {
    Outcome.REVOKED: signals.REVOKED,
    Outcome.EXPIRED: signals.EXPIRED,
    Outcome.SHORTENED: signals.SHORTENED,
    Outcome.PINNED: signals.SCOPE_CHANGED,
    Outcome.REVIEW: signals.SCOPE_CHANGED,
}


@dataclass(frozen=True)
class VersionChange:
    """What a newly published scope version takes away from, or adds to, the one before it."""

    bank: str
    name: str
    version: DataScopeVersion
    purposes_removed: frozenset[str]
    fields_removed: frozenset[str]
    max_duration_days: int | None  # the new maximum, when it is shorter
    widened: bool  # new fields or purposes

    @classmethod
    def between(cls, previous: DataScopeVersion, version: DataScopeVersion, *, bank: str) -> VersionChange:
        """Return the change from `previous` to `version`."""
        shorter = version.max_duration_days < previous.max_duration_days
        return cls(
            bank=bank,
            name=version.name,
            version=version,
            purposes_removed=frozenset(previous.purposes) - frozenset(version.purposes),
            fields_removed=frozenset(previous.field_names - version.field_names),
            max_duration_days=version.max_duration_days if shorter else None,
            widened=bool(version.field_names - previous.field_names or set(version.purposes) - set(previous.purposes)),
        )

    def __bool__(self) -> bool:
        return bool(self.purposes_removed or self.fields_removed or self.max_duration_days or self.widened)


def consent_follow_scope_version(
    *, scope: DataScope, version: DataScopeVersion, previous: DataScopeVersion | None
) -> list[GrantScopeChange]:
    """Bring the scope's active grants within `version`, just published; record and announce each change.

    Called by the receiver of `scope_published` inside the publishing transaction (the scope's row
    locked): every grant it changes, its consent event, audit entry, the bank's webhook rows and the
    person's inbox message commit with the new version or not at all.
    """
    if previous is None:
        return []
    change = VersionChange.between(previous, version, bank=scope.partner.legal_name)
    if not change:
        return []
    changes: list[GrantScopeChange] = []
    told: defaultdict[int, list[str]] = defaultdict(list)
    with transaction.atomic():
        at = timezone.now()
        link_ids = sorted(
            set(
                ConsentGrant.objects.filter(scope=scope, status=ConsentGrant.Status.ACTIVE).values_list(
                    "link_id", flat=True
                )
            )
        )
        for link_id in link_ids:  # in id order, as every service locks links: no deadlock
            link = lock_link(link_id)
            on_link = _follow_on_link(link, scope=scope, change=change, at=at)
            changes.extend(on_link)
            told[link.user_id].extend(c.detail for c in on_link)
        for user_id, lines in sorted(told.items()):
            if not lines:
                continue
            signals.consent_scope_changed.send(
                sender=ConsentGrant, user_id=user_id, partner_id=scope.partner_id, scope_name=change.name, changes=lines
            )
    return changes


def _follow_on_link(
    link: AccountLink, *, scope: DataScope, change: VersionChange, at: datetime
) -> list[GrantScopeChange]:
    """Change the link's active grants of `scope` (the link locked), then announce them per kind of change."""
    grants = (
        ConsentGrant.objects.select_for_update(of=("self",))
        .select_related("scope", "scope_version", "terms")
        .filter(link=link, scope=scope, status=ConsentGrant.Status.ACTIVE)
        .order_by("pk")
    )
    changes = [c for grant in grants if (c := _follow(grant, link=link, change=change, at=at)) is not None]
    ids_by_event: defaultdict[str, list[int]] = defaultdict(list)
    for c in changes:
        ids_by_event[EVENT_OF_OUTCOME[Outcome(c.outcome)]].append(c.grant_id)
    for event, grant_ids in sorted(ids_by_event.items()):
        announce_change(event=event, link=link, grant_ids=grant_ids)
    return changes


def _follow(grant: ConsentGrant, *, link: AccountLink, change: VersionChange, at: datetime) -> GrantScopeChange | None:
    """Apply the rule to one locked grant; return what changed for it, or None when nothing did."""
    purpose = Purpose(grant.purpose).label.lower()
    expires_before = grant.expires_at
    review = " Review the new wording on your banks page." if change.widened else ""
    actor = Actor.system("scope version published")
    if grant.purpose in change.purposes_removed:
        reason = f"{change.bank} no longer uses {change.name} for {purpose}."
        end_grant(
            grant, link=link, status=ConsentGrant.Status.REVOKED, by=SYSTEM, reason=reason, actor=actor, ip=None, at=at
        )
        return _recorded(
            grant, change, Outcome.REVOKED, f"{change.name} for {purpose}: ended. {reason}", expires_before
        )
    if change.max_duration_days is not None:
        cap = (grant.renewed_at or grant.granted_at) + timedelta(days=change.max_duration_days)
        if cap < grant.expires_at:
            return _cap(grant, link=link, change=change, cap=cap, at=at, purpose=purpose, review=review)
    pinned = change.fields_removed & grant.scope_version.field_names
    if not pinned and not change.widened:
        return None
    if pinned:
        detail = (
            f"{change.name} for {purpose}: unchanged. {change.bank} now asks for less "
            f"({', '.join(sorted(pinned))} no longer); your permission stays as you gave it.{review}"
        )
    else:
        detail = f"{change.name} for {purpose}: unchanged. {change.bank} offers more in its new wording.{review}"
    _tell(grant, link=link, kind=ConsentEvent.Kind.SCOPE_CHANGED, action="consent.scope_changed", detail=detail, at=at)
    outcome = Outcome.REVIEW if change.widened else Outcome.PINNED
    return _recorded(grant, change, outcome, detail, expires_before)


def _cap(
    grant: ConsentGrant,
    *,
    link: AccountLink,
    change: VersionChange,
    cap: datetime,
    at: datetime,
    purpose: str,
    review: str,
) -> GrantScopeChange:
    """Cap a grant's expiry at its start plus the new maximum; end it now when that moment has passed."""
    expires_before = grant.expires_at
    longest = f"{change.bank} now keeps a permission for {change.name} at most {change.max_duration_days} days"
    if cap <= at:
        grant.expires_at = at
        grant.save(update_fields=["expires_at"])
        reason = f"{longest}; yours had already run that long."
        actor = Actor.system("scope version published")
        end_grant(
            grant, link=link, status=ConsentGrant.Status.EXPIRED, by=SYSTEM, reason=reason, actor=actor, ip=None, at=at
        )
        return _recorded(
            grant, change, Outcome.EXPIRED, f"{change.name} for {purpose}: ended. {reason}", expires_before
        )
    grant.expires_at = cap
    grant.save(update_fields=["expires_at"])
    dates = f"now ends on {day(cap)} instead of {day(expires_before)}"
    detail = f"{change.name} for {purpose}: {dates}. {longest}.{review}"
    _tell(
        grant,
        link=link,
        kind=ConsentEvent.Kind.SHORTENED,
        action="consent.shorten",
        detail=detail,
        at=at,
        before=expires_before,
    )
    return _recorded(grant, change, Outcome.SHORTENED, detail, expires_before)


def _tell(
    grant: ConsentGrant,
    *,
    link: AccountLink,
    kind: str,
    action: str,
    detail: str,
    at: datetime,
    before: datetime | None = None,
) -> None:
    """Append the consent event (the person's receipt) and the audit entry for a grant that stays active."""
    record_event(kind=kind, link=link, grant=grant, actor=SYSTEM, reason=detail[:300], at=at)
    extra = {"expires_before": before} if before is not None else {}
    audit_grant(action, actor=Actor.system("scope version published"), grant=grant, ip=None, reason=detail, **extra)


def _recorded(
    grant: ConsentGrant, change: VersionChange, outcome: str, detail: str, expires_before: datetime
) -> GrantScopeChange:
    return GrantScopeChange.objects.create(
        grant=grant,
        scope_version=change.version,
        partner_id=grant.partner_id,
        outcome=outcome,
        invites_review=change.widened and grant.status == ConsentGrant.Status.ACTIVE,
        detail=detail[:300],
        expires_before=expires_before,
        expires_after=grant.expires_at,
    )
