"""Reads of partner banks, filtered to what the asking person or bank may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, Count, Prefetch, QuerySet, Value, When
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from portal.errors import ApplicationError
from portal.models import User

from .models import (
    ChatbotCapability,
    DataCategory,
    DataScope,
    DataScopeVersion,
    Invitation,
    Partner,
    PartnerApiKey,
    PartnerMembership,
    Purpose,
    TermsAcceptance,
    UsageTerms,
    WebhookEndpoint,
)
from .permissions import VIEW
from .services import parse_api_key


def partners_for_user(*, user: User) -> QuerySet[Partner]:
    """Return the banks `user` is a member of (platform staff see them all elsewhere)."""
    return get_objects_for_user(user, VIEW, klass=Partner, accept_global_perms=False).order_by("legal_name")


def partner_for_member(*, user: User, slug: str) -> Partner | None:
    """Return the bank `slug` if `user` is one of its members, else None."""
    return partners_for_user(user=user).filter(slug=slug).first()


def partners_for_review(*, status: str = "") -> QuerySet[Partner]:
    """Return every bank for platform staff, newest applications first, optionally of one status."""
    partners = Partner.objects.order_by("-created_at", "pk")
    if status:
        partners = partners.filter(status=status)
    return partners


def partner_api_key_for_raw(*, raw_key: str) -> PartnerApiKey | None:
    """Return the active key that `raw_key` is, with its bank, or None."""
    try:
        _, lookup = parse_api_key(raw_key)
    except ApplicationError:
        return None
    key = PartnerApiKey.objects.active().select_related("partner").filter(lookup=lookup).first()
    if key is None or not key.matches(raw_key):
        return None
    return key


@dataclass(frozen=True)
class TermsStatus:
    """Where a bank stands with the usage terms."""

    state: str  # "accepted", "not_accepted", "grace_period", "blocked", "no_terms"
    current: UsageTerms | None
    accepted: TermsAcceptance | None
    grace_ends_at: datetime | None = None

    @property
    def accepted_current(self) -> bool:
        """Return True when the bank accepted the newest version."""
        return self.current is not None and self.accepted is not None and self.accepted.terms_id == self.current.pk

    @property
    def blocks_api(self) -> bool:
        """Return True when the bank's API must answer `terms_not_accepted`."""
        return self.state == "blocked"


def terms_state(*, current: UsageTerms | None, accepted_terms_id: int | None, now: datetime | None = None) -> str:
    """Return where a bank stands with the terms, given its newest acceptance's terms id (the one rule).

    "no_terms" before any were published; "accepted" when it accepted the current version (or any, when
    the current one needs no re-acceptance); else "not_accepted", "grace_period" or "blocked".
    """
    if current is None:
        return "no_terms"
    if accepted_terms_id is not None and accepted_terms_id == current.pk:
        return "accepted"
    if accepted_terms_id is None:
        return "not_accepted"
    if not current.requires_reacceptance:
        return "accepted"
    return "grace_period" if (now or timezone.now()) < current.grace_ends_at else "blocked"


def partner_terms_status(*, partner: Partner) -> TermsStatus:
    """Return whether the bank accepted the current terms, is in a grace period, or is blocked."""
    current = UsageTerms.objects.current()
    accepted = partner.terms_acceptances.select_related("terms").order_by("-terms__version").first()
    state = terms_state(current=current, accepted_terms_id=accepted.terms_id if accepted else None)
    if current is None:
        return TermsStatus(state, None, accepted)
    grace = current.grace_ends_at if state in ("grace_period", "blocked") else None
    return TermsStatus(state, current, accepted, grace)


def scopes_for_partner(*, partner: Partner) -> QuerySet[DataScope]:
    """Return a bank's scopes with their published version and newest draft, in two queries."""
    return (
        partner.scopes.select_related("published_version")
        .prefetch_related(Prefetch("versions", queryset=DataScopeVersion.objects.order_by("-number")))
        .order_by("code")
    )


def capabilities_for_partner(*, partner: Partner) -> QuerySet[ChatbotCapability]:
    """Return a bank's chatbot capabilities with their scopes."""
    return partner.capabilities.prefetch_related("scopes").order_by("code")


def webhook_endpoints_for_partner(*, partner: Partner) -> QuerySet[WebhookEndpoint]:
    """Return a bank's webhook endpoints, oldest first."""
    return partner.webhook_endpoints.order_by("created_at", "pk")


def scope_versions_pending_review() -> QuerySet[DataScopeVersion]:
    """Return high-sensitivity versions waiting for compliance, oldest first."""
    return (
        DataScopeVersion.objects.filter(status=DataScopeVersion.Status.PENDING_REVIEW)
        .select_related("scope__partner", "scope__published_version")
        .order_by("created_at")
    )


@dataclass(frozen=True)
class ChecklistItem:
    """One thing a bank needs before it goes live, and whether it is done."""

    label: str
    done: bool
    hint: str
    step: str = ""  # which bank page does it: "terms", "scopes", "capabilities", "keys", "webhooks"


def partner_checklist(*, partner: Partner, terms: TermsStatus) -> list[ChecklistItem]:
    """Return what is missing for the bank to go live, in the order to do it."""
    reviewed = partner.status not in (Partner.Status.APPLIED, Partner.Status.IN_REVIEW)
    return [
        ChecklistItem("Application approved", reviewed, "Platform staff review your application."),
        ChecklistItem(
            "Usage terms accepted",
            terms.accepted_current or terms.state == "accepted",
            "A manager reads and accepts the current usage terms.",
            "terms",
        ),
        ChecklistItem(
            "A published scope",
            partner.scopes.visible_to_users().exists(),
            "Declare the data you offer and publish it.",
            "scopes",
        ),
        ChecklistItem(
            "A chatbot capability",
            partner.capabilities.filter(status=ChatbotCapability.Status.PUBLISHED).exists(),
            "Describe what people can ask your bot.",
            "capabilities",
        ),
        ChecklistItem("An API key", partner.api_keys.active().exists(), "Create a key for your servers.", "keys"),
        ChecklistItem(
            "A webhook endpoint",
            partner.webhook_endpoints.filter(is_active=True).exists(),
            "Tell us where to send consent changes.",
            "webhooks",
        ),
        ChecklistItem("Live", partner.status == Partner.Status.LIVE, "Platform staff switch your bank to live."),
    ]


def missing_before_live(checklist: list[ChecklistItem]) -> list[ChecklistItem]:
    """Return the steps a bank has not done that it should have before going live (the status itself aside)."""
    return [item for item in checklist if item.step and not item.done]


def partner_home_for_user(*, user: User, slug: str) -> dict[str, object] | None:
    """Return what a member's bank page shows, or None when `user` is not a member of it."""
    partner = partner_for_member(user=user, slug=slug)
    if partner is None:
        return None
    memberships = list(partner.memberships.select_related("user").order_by("role", "user__email"))
    terms = partner_terms_status(partner=partner)
    checklist = partner_checklist(partner=partner, terms=terms)
    return {
        "partner": partner,
        "memberships": memberships,
        "membership": next((m for m in memberships if m.user_id == user.pk), None),
        "api_keys": list(partner.api_keys.order_by("-created_at")),
        "scopes": list(scopes_for_partner(partner=partner)),
        "capabilities": list(capabilities_for_partner(partner=partner)),
        "webhook_endpoints": list(webhook_endpoints_for_partner(partner=partner)),
        "terms": terms,
        "checklist": checklist,
        "missing": missing_before_live(checklist),
    }


# --- Reads for the bank's own pages: always within one bank the member belongs to --------------------


def memberships_for_partner(*, partner: Partner) -> QuerySet[PartnerMembership]:
    """Return a bank's members with their people: managers, then developers, then compliance contacts."""
    role_order = Case(
        When(role=PartnerMembership.Role.MANAGER, then=Value(0)),
        When(role=PartnerMembership.Role.DEVELOPER, then=Value(1)),
        default=Value(2),
    )
    return partner.memberships.select_related("user").order_by(role_order, "user__email")


def membership_for_partner(*, partner: Partner, pk: int) -> PartnerMembership | None:
    """Return one membership of `partner`, or None."""
    return memberships_for_partner(partner=partner).filter(pk=pk).first()


def invitations_pending_for_partner(*, partner: Partner) -> QuerySet[Invitation]:
    """Return a bank's invitations that can still be accepted, newest first."""
    return Invitation.objects.pending().filter(partner=partner).select_related("invited_by").order_by("-created_at")


def invitation_for_partner(*, partner: Partner, pk: int) -> Invitation | None:
    """Return one invitation of `partner` (pending or not), or None."""
    return Invitation.objects.filter(partner=partner, pk=pk).first()


def scope_for_partner(*, partner: Partner, code: str) -> DataScope | None:
    """Return one scope of `partner` with every version (newest first) and who approved it, or None."""
    versions = DataScopeVersion.objects.select_related("approved_by").order_by("-number")
    return (
        partner.scopes.select_related("published_version")
        .prefetch_related(Prefetch("versions", queryset=versions))
        .filter(code=code)
        .first()
    )


def published_scopes_for_partner(*, partner: Partner) -> QuerySet[DataScope]:
    """Return the scopes a capability of `partner` may use: published, approved and not retired."""
    return partner.scopes.visible_to_users().select_related("published_version").order_by("code")


def capability_for_partner(*, partner: Partner, code: str) -> ChatbotCapability | None:
    """Return one chatbot capability of `partner` with its scopes, or None."""
    return capabilities_for_partner(partner=partner).filter(code=code).first()


def api_keys_for_partner(*, partner: Partner) -> QuerySet[PartnerApiKey]:
    """Return a bank's API keys, newest first, with who created each."""
    return partner.api_keys.select_related("created_by").order_by("-created_at", "-pk")


def api_key_for_partner(*, partner: Partner, pk: int) -> PartnerApiKey | None:
    """Return one API key of `partner`, or None."""
    return partner.api_keys.filter(pk=pk).first()


def webhook_endpoint_for_partner(*, partner: Partner, pk: int) -> WebhookEndpoint | None:
    """Return one webhook endpoint of `partner`, or None."""
    return partner.webhook_endpoints.filter(pk=pk).first()


def usage_terms_version(*, version: int) -> UsageTerms | None:
    """Return one published version of the usage terms, or None."""
    return UsageTerms.objects.filter(version=version).first()


def managers_of_partner(*, partner: Partner) -> QuerySet[PartnerMembership]:
    """Return the memberships of the bank's partnership managers, who accept terms and invite people."""
    return memberships_for_partner(partner=partner).filter(role=PartnerMembership.Role.MANAGER)


# --- Reads for platform staff and compliance reviewers ---------------------------------------------


def partner_status_counts() -> dict[str, int]:
    """Return how many banks are in each status, every status listed (zero when none), in one query."""
    counts = {row["status"]: row["n"] for row in Partner.objects.order_by().values("status").annotate(n=Count("pk"))}
    return {status: counts.get(status, 0) for status in Partner.Status.values}


def partner_review_for_staff(*, slug: str) -> dict[str, Any] | None:
    """Return what a bank's review page shows platform staff, or None when there is no such bank."""
    partner = Partner.objects.filter(slug=slug).first()
    if partner is None:
        return None
    terms = partner_terms_status(partner=partner)
    return {
        "partner": partner,
        "memberships": list(partner.memberships.select_related("user").order_by("role", "user__email")),
        "invitations": list(partner.invitations.pending().select_related("invited_by").order_by("created_at")),
        "terms": terms,
        "next_statuses": [(status, Partner.Status(status).label) for status in Partner.TRANSITIONS[partner.status]],
        "missing": missing_before_live(partner_checklist(partner=partner, terms=terms)),
    }


def invitation_email_has_account(*, invitation: Invitation) -> bool:
    """Return True when someone already signs in with the invited email address."""
    return User.objects.filter(email__iexact=invitation.email).exists()


def terms_versions_for_staff() -> QuerySet[UsageTerms]:
    """Return every published terms version, newest first, with how many banks accepted each."""
    return (
        UsageTerms.objects.select_related("published_by")
        .annotate(accepted_count=Count("acceptances"))
        .order_by("-version")
    )


def scope_version_for_review(*, pk: int) -> DataScopeVersion | None:
    """Return any scope version with its scope, bank and published version (compliance reviews)."""
    return DataScopeVersion.objects.select_related("scope__partner", "scope__published_version").filter(pk=pk).first()


@dataclass(frozen=True)
class ScopeChange:
    """One difference between a scope's published version and the version under review."""

    label: str
    before: str = ""
    after: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reworded: tuple[str, ...] = ()


SCOPE_CHANGE_LABELS = {
    "name": "Name",
    "description": "Wording people read",
    "category": "Data category",
    "fields": "Fields",
    "purposes": "Purposes",
    "sensitivity": "Sensitivity",
    "retention_days": "Retention (days)",
    "max_duration_days": "Longest grant (days)",
}


def _display(key: str, value: Any) -> str:
    labels = {"category": dict(DataCategory.choices), "sensitivity": dict(DataScopeVersion.Sensitivity.choices)}
    return str(labels.get(key, {}).get(value, value))


def scope_version_changes(*, version: DataScopeVersion) -> list[ScopeChange]:
    """Return what `version` changes from its scope's published version; empty when none is published."""
    previous = version.scope.published_version
    if previous is None or previous.pk == version.pk:
        return []
    changes: list[ScopeChange] = []
    for key, label in SCOPE_CHANGE_LABELS.items():
        before, after = getattr(previous, key), getattr(version, key)
        if key == "fields":
            old = {str(item["name"]): str(item["description"]) for item in before}
            new = {str(item["name"]): str(item["description"]) for item in after}
            change = ScopeChange(
                label,
                added=tuple(sorted(new.keys() - old.keys())),
                removed=tuple(sorted(old.keys() - new.keys())),
                reworded=tuple(sorted(name for name in new.keys() & old.keys() if new[name] != old[name])),
            )
            if change.added or change.removed or change.reworded:
                changes.append(change)
        elif key == "purposes":
            purpose_labels = dict(Purpose.choices)
            added = tuple(purpose_labels.get(p, p) for p in after if p not in before)
            removed = tuple(purpose_labels.get(p, p) for p in before if p not in after)
            if added or removed:
                changes.append(ScopeChange(label, added=added, removed=removed))
        elif before != after:
            changes.append(ScopeChange(label, before=_display(key, before), after=_display(key, after)))
    return changes
