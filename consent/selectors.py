"""Reads of consent: what a person or a bank may see of links and grants (the consent check is `rules`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, Exists, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.utils import timezone

from partners.models import (
    MAX_GRANT_DAYS,
    DataScope,
    DataScopeVersion,
    MessageType,
    Partner,
    Purpose,
    TermsAcceptance,
    UsageTerms,
)
from partners.scope_effects import GrantChangeLine, GrantChanges
from portal.models import User

from .models import AccountLink, ConsentEvent, ConsentGrant, GrantScopeChange
from .purposes import message_types_for
from .rules import Environment, banks_open_to, grants_in_force, reaches
from .undo import undo_window

# --- What a person may see ----------------------------------------------------------------------------


def banks_for_user(*, user: User) -> QuerySet[Partner]:
    """Return the banks `user` may link: live ones, and sandbox ones they are a member of, with scopes on offer."""
    offers = DataScope.objects.visible_to_users().filter(partner=OuterRef("pk"))
    offered = DataScope.objects.visible_to_users().select_related("published_version").order_by("code")
    return (
        Partner.objects.filter(banks_open_to(user))
        .filter(Exists(offers))
        .prefetch_related(Prefetch("scopes", queryset=offered, to_attr="offered_scopes"))
        .order_by("legal_name")
    )


def bank_for_user(*, user: User, slug: str) -> Partner | None:
    """Return the bank `slug` if `user` may link it, else None."""
    return banks_for_user(user=user).filter(slug=slug).first()


def _latest_event_of_grant() -> Subquery:
    return Subquery(
        ConsentEvent.objects.filter(grant=OuterRef("pk")).order_by("-created_at", "-pk").values("public_id")[:1]
    )


def _newer_wording_to_review() -> Exists:
    # The scope's newest version offers more than the grant's (a widening was recorded for that
    # version), and the person has not renewed onto it yet.
    return Exists(
        GrantScopeChange.objects.filter(
            grant=OuterRef("pk"), invites_review=True, scope_version_id=OuterRef("scope__published_version_id")
        ).exclude(scope_version_id=OuterRef("scope_version_id"))
    )


def grants_with_receipts() -> QuerySet[ConsentGrant]:
    """Return grants with scope, version, bank, newest receipt id, whether the rule holds, and whether
    newer wording awaits review, in one query."""
    return ConsentGrant.objects.select_related("scope", "scope_version", "partner", "terms").annotate(
        latest_receipt_id=_latest_event_of_grant(),
        in_force=Exists(grants_in_force(ConsentGrant.objects.filter(pk=OuterRef("pk")))),
        to_review=_newer_wording_to_review(),
    )


def links_for_user(*, user: User) -> QuerySet[AccountLink]:
    """Return the person's linked accounts with their bank and every grant (active first), in two queries."""
    active_first = Case(When(status=ConsentGrant.Status.ACTIVE, then=Value(0)), default=Value(1))
    grants = grants_with_receipts().order_by(active_first, "-granted_at", "-pk")
    return (
        AccountLink.objects.active()
        .filter(user=user)
        .select_related("partner")
        .prefetch_related(Prefetch("grants", queryset=grants))
        .order_by("partner__legal_name", "linked_at", "pk")
    )


@dataclass
class BankSection:
    """One bank on the person's dashboard: every account linked there, and whether anything is active."""

    partner: Partner
    links: list[AccountLink]

    @property
    def active_grants(self) -> list[ConsentGrant]:
        """Return the active grants on every account at this bank (prefetched, no query)."""
        return [g for link in self.links for g in link.grants.all() if g.status == ConsentGrant.Status.ACTIVE]


def bank_sections(links: list[AccountLink]) -> list[BankSection]:
    """Group `links` (ordered by bank, as `links_for_user` returns them) into one section per bank."""
    sections: list[BankSection] = []
    for link in links:
        if sections and sections[-1].partner.pk == link.partner_id:
            sections[-1].links.append(link)
        else:
            sections.append(BankSection(partner=link.partner, links=[link]))
    return sections


def latest_withdrawal(*, user: User, now: datetime) -> list[ConsentGrant]:
    """Return the grants the person withdrew in their latest withdrawal, while it may still be undone.

    One withdrawal ends its grants at one instant, so the batch is every grant sharing the newest
    `revoked_at`; grants already granted again, or on an account since unlinked, are left out.
    """
    again = ConsentGrant.objects.filter(
        link=OuterRef("link"), scope=OuterRef("scope"), purpose=OuterRef("purpose"), status=ConsentGrant.Status.ACTIVE
    )
    recent = list(
        ConsentGrant.objects.filter(
            user=user,
            status=ConsentGrant.Status.REVOKED,
            revoked_by=ConsentGrant.RevokedBy.USER,
            revoked_at__gt=now - undo_window(),
            expires_at__gt=now,
            link__status=AccountLink.Status.ACTIVE,
        )
        .exclude(Exists(again))
        .select_related("scope_version", "link", "partner")
        .order_by("-revoked_at", "pk")
    )
    return [g for g in recent if g.revoked_at == recent[0].revoked_at]


def link_for_user(*, user: User, pk: int) -> AccountLink | None:
    """Return the person's active link `pk`, or None when it is not theirs or not linked."""
    return AccountLink.objects.active().select_related("partner").filter(user=user, pk=pk).first()


def grant_for_user(*, user: User, pk: int) -> ConsentGrant | None:
    """Return the person's grant `pk` with its history, or None when it is not theirs."""
    return (
        grants_with_receipts()
        .select_related("link", "scope__published_version")
        .prefetch_related(Prefetch("events", queryset=ConsentEvent.objects.order_by("-created_at", "-pk")))
        .filter(user=user, pk=pk)
        .first()
    )


def event_for_user(*, user: User, public_id: Any) -> ConsentEvent | None:
    """Return the person's consent event (receipt) with this public id, or None."""
    return (
        ConsentEvent.objects.select_related("partner", "grant__scope_version", "link")
        .filter(user=user, public_id=public_id)
        .first()
    )


def events_for_user(*, user: User) -> QuerySet[ConsentEvent]:
    """Return the person's consent history, newest first."""
    return ConsentEvent.objects.select_related("partner", "link", "grant__scope_version").filter(user=user)


@dataclass(frozen=True)
class SharedSummary:
    """What one bank sent a person in a period, for one purpose ("Bank X sent 3 balance updates today")."""

    partner: Partner
    purpose: str
    message_type: str
    count: int
    last_sent_at: datetime


SharedSummaryProvider = Callable[[User], list[SharedSummary]]
# Delivery registers the function that counts what was sent (consent may not import delivery).
_shared_summary_providers: list[SharedSummaryProvider] = []


def register_shared_summary_provider(provider: SharedSummaryProvider) -> None:
    """Let an app after consent tell the dashboard what banks sent (called from its AppConfig.ready)."""
    if provider not in _shared_summary_providers:
        _shared_summary_providers.append(provider)


def shared_summary_for_user(*, user: User) -> list[SharedSummary]:
    """Return what banks sent the person in the last 30 days, from every registered provider."""
    return [item for provider in _shared_summary_providers for item in provider(user)]


# --- The consent screen -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurposeOffer:
    """One purpose of one scope on the consent screen: its message-type switches, and any grant in force."""

    version: DataScopeVersion
    purpose: str
    message_types: list[tuple[str, str]]
    granted: ConsentGrant | None

    @property
    def label(self) -> str:
        """Return the purpose's name for people."""
        return str(Purpose(self.purpose).label)

    @property
    def field_name(self) -> str:
        """Return the name of the purpose's checkbox."""
        return f"purpose-{self.version.pk}-{self.purpose}"

    @property
    def types_field_name(self) -> str:
        """Return the name of the purpose's message-type switches."""
        return f"types-{self.version.pk}-{self.purpose}"

    @property
    def has_choice_of_types(self) -> bool:
        """Return True when the purpose sends more than one kind of message, so each gets a switch."""
        return len(self.message_types) > 1


@dataclass(frozen=True)
class ScopeOffer:
    """One scope as the consent screen shows it: the published wording, until when a grant lasts."""

    scope: DataScope
    version: DataScopeVersion
    expires_on: datetime
    purposes: list[PurposeOffer] = field(default_factory=list)


@dataclass(frozen=True)
class ConsentScreen:
    """Everything the consent screen for one linked account shows."""

    link: AccountLink
    offers: list[ScopeOffer]
    terms: UsageTerms | None


def consent_screen_for(*, link: AccountLink, at: datetime | None = None) -> ConsentScreen:
    """Return the bank's published scopes for `link`, each purpose with its switches and any grant in force."""
    at = at or timezone.now()
    scopes = list(
        DataScope.objects.visible_to_users()
        .filter(partner_id=link.partner_id)
        .select_related("published_version")
        .order_by("code")
    )
    active = {
        (grant.scope_id, grant.purpose): grant
        for grant in grants_in_force(ConsentGrant.objects.filter(link=link), at=at).select_related("scope_version")
    }
    labels = dict(MessageType.choices)
    offers = []
    for scope in scopes:
        version = scope.published_version
        assert version is not None
        purposes = [
            PurposeOffer(
                version=version,
                purpose=purpose,
                message_types=[(t, str(labels[t])) for t in message_types_for(purpose)],
                granted=active.get((scope.pk, purpose)),
            )
            for purpose in Purpose.values
            if purpose in version.purposes
        ]
        days = min(version.max_duration_days, MAX_GRANT_DAYS)
        offers.append(ScopeOffer(scope, version, at + timedelta(days=days), purposes))
    acceptance = (
        TermsAcceptance.objects.filter(partner_id=link.partner_id)
        .select_related("terms")
        .order_by("-terms__version")
        .first()
    )
    return ConsentScreen(link=link, offers=offers, terms=acceptance.terms if acceptance else None)


# --- What a bank may see ------------------------------------------------------------------------------


def grants_for_partner(
    *, partner: Partner, environment: Environment = None, status: str | None = None, link_id: int | None = None
) -> QuerySet[ConsentGrant]:
    """Return the grants people gave `partner`, newest first, optionally of one status or one link.

    A key's `environment` narrows them to that key's world (`rules.reaches`): a sandbox key sees only
    the bank's test users, a live key only a live bank's grants.
    """
    grants = ConsentGrant.objects.filter(partner=partner).select_related("scope", "scope_version", "link")
    if environment is not None:
        grants = grants.filter(reaches(environment))
    if status:
        grants = grants.filter(status=status)
    if link_id is not None:
        grants = grants.filter(link_id=link_id)
    return grants.order_by("-granted_at", "-pk")


def grant_for_partner(*, partner: Partner, pk: int, environment: Environment = None) -> ConsentGrant | None:
    """Return grant `pk` if it was given to `partner` (within the key's `environment`), else None."""
    return grants_for_partner(partner=partner, environment=environment).filter(pk=pk).first()


# --- Grants a catalog change touched -------------------------------------------------------------------


def grant_changes_for_bank(version: DataScopeVersion, *, shown: int = 10) -> GrantChanges:
    """Return what publishing `version` did to grants, for the bank's scope page: counts and the first few."""
    rows = GrantScopeChange.objects.filter(scope_version=version)
    counts = dict(rows.values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n"))
    labels = dict(GrantScopeChange.Outcome.choices)
    lines = [
        GrantChangeLine(grant_id=grant_id, purpose=Purpose(purpose).label, outcome=labels[outcome], detail=detail)
        for grant_id, purpose, outcome, detail in rows.order_by("pk").values_list(
            "grant_id", "grant__purpose", "outcome", "detail"
        )[:shown]
    ]
    return GrantChanges(
        counts=[(label, counts[outcome]) for outcome, label in GrantScopeChange.Outcome.choices if outcome in counts],
        lines=lines,
    )


def grant_scope_changes(*, partner_id: int | None = None) -> QuerySet[GrantScopeChange]:
    """Return grant changes made by published scope versions, newest first, for compliance (one bank or all)."""
    rows = GrantScopeChange.objects.select_related("partner", "scope_version__scope", "grant")
    return rows.filter(partner_id=partner_id) if partner_id is not None else rows
