"""Granting permissions from what a person ticked, narrowing their message types, renewing them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from partners.models import MAX_GRANT_DAYS, DataScope, DataScopeVersion, Partner, TermsAcceptance, UsageTerms
from portal.errors import ApplicationError, Conflict
from portal.models import User

from .. import signals
from ..models import AccountLink, ConsentEvent, ConsentGrant
from ..policy import actor_label
from ..purposes import MESSAGE_TYPE_BITS, mask_of, message_types_for, purpose_of
from ..refusals import AuthorisationRefused, refusals_audited
from ..rules import grant_in_force
from .locks import lock_grant_to_change, lock_link
from .openness import require_open
from .records import announce_change, audit_grant, record_event

RevokedBy = ConsentGrant.RevokedBy


@dataclass(frozen=True)
class GrantChoice:
    """One thing a person ticked: a scope version they saw, a purpose, and the message types left on."""

    scope_version_id: int
    purpose: str
    message_types: tuple[str, ...] = field(default_factory=tuple)

    @property
    def field_name(self) -> str:
        """Return the form field this choice came from, for errors shown beside it."""
        return f"purpose-{self.scope_version_id}-{self.purpose}"


def _checked_choices(link: AccountLink, choices: Sequence[GrantChoice]) -> list[tuple[GrantChoice, DataScopeVersion]]:
    """Return each ticked choice, normalised, with the scope version it names; refuse the first that is not valid."""
    if not choices:
        raise ApplicationError(
            "Tick at least one purpose to grant, or go back to your dashboard.",
            code="nothing_chosen",
            fields={"_": ["Tick at least one purpose."]},
        )
    versions = {
        version.pk: version
        for version in DataScopeVersion.objects.select_related("scope", "scope__partner", "scope__published_version")
        .filter(pk__in={choice.scope_version_id for choice in choices})
    }  # fmt: skip
    checked: list[tuple[GrantChoice, DataScopeVersion]] = []
    seen: set[tuple[int, str]] = set()
    for choice in choices:
        checked_choice, version = _checked_choice(link, choice, versions.get(choice.scope_version_id))
        key = (version.scope_id, choice.purpose)
        if key in seen:
            raise ApplicationError("The same permission was ticked twice. Reload the page.", code="invalid")
        seen.add(key)
        checked.append((checked_choice, version))
    return checked


def _checked_choice(
    link: AccountLink, choice: GrantChoice, version: DataScopeVersion | None
) -> tuple[GrantChoice, DataScopeVersion]:
    """Return `choice` (message types deduplicated) and its version, if `link`'s bank offers it as it was read."""
    if version is None or version.scope.partner_id != link.partner_id:
        raise AuthorisationRefused(
            f"The form asked for a permission that {link.partner} does not offer. Nothing was granted; "
            "reload the page and choose again.",
            code="scope_not_offered",
            target=link,
            audit_data={"scope_version": choice.scope_version_id, "partner": link.partner.slug},
        )
    scope = version.scope
    name = version.name
    if (
        scope.published_version_id != version.pk
        or not DataScope.objects.visible_to_users().filter(pk=scope.pk).exists()
    ):
        raise Conflict(
            f"{link.partner} changed '{name}' while you were reading it. Nothing was granted; "
            "read the new wording and choose again.",
            code="scope_changed",
            fields={choice.field_name: ["The wording changed. Read it again."]},
        )
    if choice.purpose not in version.purposes:
        raise AuthorisationRefused(
            f"'{name}' is not offered for that purpose. Nothing was granted; reload the page and choose again.",
            code="purpose_not_offered",
            target=link,
            audit_data={"scope": scope.code, "purpose": choice.purpose},
        )
    allowed = message_types_for(choice.purpose)
    types = tuple(dict.fromkeys(choice.message_types))
    if not types or any(t not in allowed for t in types):
        raise ApplicationError(
            f"Choose which messages {link.partner} may send for '{name}', or untick that purpose.",
            code="message_types_required",
            fields={choice.field_name: ["Choose at least one kind of message, or untick this purpose."]},
        )
    return GrantChoice(choice.scope_version_id, choice.purpose, types), version


def _already_granted(name: str) -> Conflict:
    return Conflict(
        f"You already granted '{name}' for this purpose, so nothing was granted twice. It is on your dashboard.",
        code="already_granted",
    )


def _accepted_terms(partner: Partner) -> UsageTerms | None:
    acceptance = (
        TermsAcceptance.objects.filter(partner=partner).select_related("terms").order_by("-terms__version").first()
    )
    return acceptance.terms if acceptance else None


def consent_grant(
    *, user: User, link: AccountLink, choices: Sequence[GrantChoice], ip: str | None = None
) -> list[ConsentGrant]:
    """Grant each ticked purpose of each scope on `link`; all or nothing; one receipt per grant."""
    try:
        with refusals_audited(actor=user, ip=ip), transaction.atomic():
            link = lock_link(link.pk)
            if link.user_id != user.pk:
                raise AuthorisationRefused(
                    "This account link is not yours. Nothing was granted.",
                    code="not_yours",
                    target=link,
                    status=404,
                )
            if not link.is_active:
                raise ApplicationError(
                    "This account is no longer linked. Link it again to grant permissions.", code="link_unlinked"
                )
            require_open(link.partner, user, target=link)
            checked = _checked_choices(link, choices)
            now = timezone.now()
            terms = _accepted_terms(link.partner)
            granted = [
                _grant_one(user=user, link=link, choice=choice, version=version, terms=terms, now=now, ip=ip)
                for choice, version in checked
            ]
            announce_change(event=signals.GRANTED, link=link, grant_ids=[g.pk for g in granted])
    except IntegrityError as exc:  # a concurrent request granted the same thing first
        raise _already_granted("this permission") from exc
    return granted


def _grant_one(
    *,
    user: User,
    link: AccountLink,
    choice: GrantChoice,
    version: DataScopeVersion,
    terms: UsageTerms | None,
    now: datetime,
    ip: str | None,
    expires_at: datetime | None = None,
    reason: str = "",
    action: str = "consent.grant",
    **audit_extra: Any,
) -> ConsentGrant:
    """Create the grant for one checked choice, with its event, receipt and audit entry; refuse one already active.

    An undone withdrawal passes the end date it had, the reason and its own audit action, so the record
    says what happened instead of passing it off as a fresh choice.
    """
    if ConsentGrant.objects.filter(
        link=link, scope_id=version.scope_id, purpose=choice.purpose, status=ConsentGrant.Status.ACTIVE
    ).exists():
        raise _already_granted(version.name)
    grant = ConsentGrant(
        user=user,
        link=link,
        partner_id=link.partner_id,
        scope=version.scope,
        scope_version=version,
        purpose=choice.purpose,
        message_types_mask=mask_of(choice.message_types),
        granted_at=now,
        expires_at=expires_at or _grant_end(version, start=now),
        terms=terms,
    )
    grant.save(force_insert=True)
    record_event(kind=ConsentEvent.Kind.GRANTED, link=link, grant=grant, actor=RevokedBy.USER, reason=reason, at=now)
    audit_grant(action, actor=user, grant=grant, ip=ip, terms_version=terms and terms.version, **audit_extra)
    return grant


def _grant_end(version: DataScopeVersion, *, start: datetime) -> datetime:
    """Return when a grant of `version` starting at `start` ends: the scope's duration, within the platform's cap."""
    return start + timedelta(days=min(version.max_duration_days, MAX_GRANT_DAYS))


def consent_narrow(
    *, grant: ConsentGrant, message_types: Iterable[str], actor: Any, ip: str | None = None
) -> ConsentGrant:
    """Switch some of a grant's message types off; switching one back on needs a new grant."""
    wanted = list(dict.fromkeys(message_types))
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        link, grant = lock_grant_to_change(grant, actor=actor, by=RevokedBy.USER, what="change it")
        if not grant_in_force(grant):
            raise Conflict("This permission is no longer active. Nothing was changed.", code="grant_not_active")
        if any(t not in MESSAGE_TYPE_BITS or purpose_of(t) != grant.purpose for t in wanted):
            raise ApplicationError("Choose from the messages this permission allows.", code="invalid")
        new_mask = mask_of(wanted)
        if new_mask == grant.message_types_mask:
            return grant
        if new_mask & ~grant.message_types_mask:
            raise ApplicationError(
                "To switch a kind of message back on, withdraw this permission and grant it again.",
                code="widening_needs_consent",
            )
        if new_mask == 0:
            raise ApplicationError(
                "Keep at least one kind of message on, or withdraw the permission instead.",
                code="message_types_required",
            )
        before = grant.message_types
        grant.message_types_mask = new_mask
        grant.save(update_fields=["message_types_mask"])
        record_event(kind=ConsentEvent.Kind.NARROWED, link=link, grant=grant, actor=actor_label(actor))
        audit_grant("consent.narrow", actor=actor, grant=grant, ip=ip, message_types_before=before)
        announce_change(event=signals.NARROWED, link=link, grant_ids=[grant.pk])
    return grant


def consent_renew(
    *, grant: ConsentGrant, actor: Any, scope_version_id: int | None = None, ip: str | None = None
) -> ConsentGrant:
    """Extend an active grant from now, pinned to the scope version the person just read."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        link, grant = lock_grant_to_change(grant, actor=actor, by=RevokedBy.USER, what="renew it")
        if grant.status != ConsentGrant.Status.ACTIVE or grant.is_expired():
            raise Conflict(
                "This permission has already ended, so it cannot be renewed. Grant it again from the bank's page.",
                code="grant_not_active",
            )
        require_open(link.partner, link.user, target=grant)
        offered = (
            DataScope.objects.visible_to_users().select_related("published_version").filter(pk=grant.scope_id).first()
        )
        version = offered.published_version if offered else None
        if version is None:
            raise Conflict(f"{link.partner} no longer offers this permission.", code="scope_unavailable")
        if scope_version_id is not None and scope_version_id != version.pk:
            raise Conflict(
                f"{link.partner} changed the wording while you were reading it. Nothing was renewed; read it again.",
                code="scope_changed",
            )
        if grant.purpose not in version.purposes:
            raise Conflict(
                f"{link.partner} no longer offers this permission for {grant.get_purpose_display().lower()}.",
                code="purpose_withdrawn",
            )
        now = timezone.now()
        before = {"scope_version": grant.scope_version.number, "expires_at": grant.expires_at}
        grant.scope_version = version
        grant.expires_at = _grant_end(version, start=now)
        grant.renewed_at = now
        grant.reminder_sent_at = None
        grant.terms = _accepted_terms(link.partner)
        grant.save(update_fields=["scope_version", "expires_at", "renewed_at", "reminder_sent_at", "terms"])
        record_event(kind=ConsentEvent.Kind.RENEWED, link=link, grant=grant, actor=actor_label(actor), at=now)
        audit_grant("consent.renew", actor=actor, grant=grant, ip=ip, before=before)
        announce_change(event=signals.GRANTED, link=link, grant_ids=[grant.pk])
    return grant
