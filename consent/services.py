"""Every write to consent: linking, granting, narrowing, renewing, revoking, expiring, attesting; each audited."""

from __future__ import annotations

import secrets
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone

from compliance.audit import Actor, audit_append
from partners.models import (
    MAX_GRANT_DAYS,
    DataScope,
    DataScopeVersion,
    Partner,
    TermsAcceptance,
    UsageTerms,
)
from portal.errors import ApplicationError, Conflict, NotFound
from portal.models import User

from . import signals
from .connectors import CodeExchangeError, LinkedAccount, callback_path, connector_for
from .models import AccountLink, ConsentEvent, ConsentGrant, LinkAuthorisation, sha256_hex
from .pkce import new_code_verifier, s256_challenge
from .policy import actor_label, require_may_act
from .purposes import MESSAGE_TYPE_BITS, mask_of, message_types_for, purpose_of
from .receipts import receipt_body, seal
from .refusals import AuthorisationRefused, refusals_audited

RevokedBy = ConsentGrant.RevokedBy


def deletion_deadline() -> timedelta:
    """Return how long a bank has to attest deletion after a grant ends (default 30 days)."""
    return timedelta(days=getattr(settings, "CONSENT_DELETION_DEADLINE_DAYS", 30))


def reminder_lead_time() -> timedelta:
    """Return how long before expiry people are reminded (default 30 days)."""
    return timedelta(days=getattr(settings, "CONSENT_REMINDER_DAYS", 30))


# --- Events, receipts and signals -----------------------------------------------------------------


def _record_event(
    *,
    kind: str,
    link: AccountLink,
    grant: ConsentGrant | None,
    actor: str,
    reason: str = "",
    at: datetime | None = None,
) -> ConsentEvent:
    """Append one consent event with its sealed receipt (inside the caller's transaction)."""
    event = ConsentEvent(
        kind=kind, user_id=link.user_id, partner_id=link.partner_id, link=link, grant=grant, actor=actor, reason=reason
    )
    event.created_at = at or timezone.now()
    body = receipt_body(
        public_id=str(event.public_id),
        kind=kind,
        created_at=event.created_at,
        actor=actor,
        reason=reason,
        link=link,
        grant=grant,
    )
    event.receipt_json, event.receipt_sha256 = seal(body)
    event.save(force_insert=True)
    return event


def _signal_after_commit(*, event: str, link: AccountLink, grant_ids: Sequence[int]) -> None:
    ids, link_id, partner_id = list(grant_ids), link.pk, link.partner_id
    transaction.on_commit(
        lambda: signals.consent_changed.send(
            sender=ConsentGrant, grant_ids=ids, link_id=link_id, partner_id=partner_id, event=event
        )
    )


def _audit_grant(action: str, *, actor: Any, grant: ConsentGrant, ip: str | None, **extra: Any) -> None:
    audit_append(
        action=action,
        actor=actor,
        target=grant,
        data={
            "user": grant.user_id,
            "link": grant.link_id,
            "partner": grant.partner_id,
            "scope": grant.scope.code,
            "scope_version": grant.scope_version.number,
            "purpose": grant.purpose,
            "message_types": grant.message_types,
            "status": grant.status,
            "expires_at": grant.expires_at,
            **extra,
        },
        ip=ip,
    )


def _lock_link(link_id: int) -> AccountLink:
    """Lock the link row: every change to a link's grants queues here, so concurrent clicks serialise."""
    return AccountLink.objects.select_for_update(of=("self",)).select_related("partner", "user").get(pk=link_id)


def _locked_grant(grant_id: int) -> ConsentGrant:
    return (
        ConsentGrant.objects.select_for_update(of=("self",))
        .select_related("scope", "scope_version", "terms", "partner", "user")
        .get(pk=grant_id)
    )


# --- Which banks a person may link ------------------------------------------------------------------


def partner_open_to(partner: Partner, user: User) -> bool:
    """Return True when `user` may link and grant at `partner`: a live bank, or a sandbox bank they belong to."""
    if partner.status == Partner.Status.LIVE:
        return True
    if partner.status == Partner.Status.SANDBOX:
        return partner.memberships.filter(user=user).exists()
    return False


def _require_open(partner: Partner, user: User, *, target: models.Model | None = None) -> None:
    if not partner_open_to(partner, user):
        raise AuthorisationRefused(
            f"{partner} is not open for linking. Choose a bank from the list.",
            code="bank_unavailable",
            target=target or partner,
            audit_data={"partner": partner.slug, "partner_status": partner.status},
            status=404,
        )


def _accepted_terms(partner: Partner) -> UsageTerms | None:
    acceptance = (
        TermsAcceptance.objects.filter(partner=partner).select_related("terms").order_by("-terms__version").first()
    )
    return acceptance.terms if acceptance else None


# --- Linking ------------------------------------------------------------------------------------------


def link_start(*, user: User, partner: Partner, session_binding: str, ip: str | None = None) -> str:
    """Start linking an account at `partner`: record a one-time state and PKCE verifier; return the bank's URL.

    `session_binding` is a secret kept in the person's session; the callback must present it again.
    """
    with refusals_audited(actor=user, ip=ip):
        _require_open(partner, user)
        connector = connector_for(partner)
        if connector is None:
            raise ApplicationError(
                f"{partner} cannot be linked from here yet. Try again later.", code="bank_unavailable", status=409
            )
        if len(session_binding) < 32:
            raise ApplicationError("Your session is not ready. Reload the page and try again.", code="invalid")
        state = secrets.token_urlsafe(32)
        verifier = new_code_verifier()
        with transaction.atomic():
            attempt = LinkAuthorisation(
                user=user,
                partner=partner,
                state_digest=sha256_hex(state),
                session_binding_digest=sha256_hex(session_binding),
                code_verifier=verifier,
                expires_at=timezone.now() + LinkAuthorisation.VALID_FOR,
            )
            attempt.save()
            audit_append(action="consent.link_start", actor=user, target=partner, data={"attempt": attempt.pk}, ip=ip)
    return connector.authorize_url(
        partner=partner, state=state, code_challenge=s256_challenge(verifier), redirect_uri=callback_path()
    )


def _consume_state(*, user: User, state: str, session_binding: str) -> LinkAuthorisation:
    """Mark the attempt behind `state` used, once; refuse forged, foreign, replayed and expired states."""
    with transaction.atomic():
        attempt = (
            LinkAuthorisation.objects.select_for_update(of=("self",))
            .select_related("partner")
            .filter(state_digest=sha256_hex(state or ""))
            .first()
        )
        if attempt is None:
            raise AuthorisationRefused(
                "This link attempt is not one we started, so nothing was linked. Start again from the list of banks.",
                code="state_invalid",
                status=400,
            )
        if attempt.user_id != user.pk or sha256_hex(session_binding or "") != attempt.session_binding_digest:
            raise AuthorisationRefused(
                "This link attempt was started in another session, so nothing was linked. "
                "Start again from the list of banks.",
                code="state_not_yours",
                target=attempt.partner,
                status=400,
            )
        if attempt.used_at is not None:
            raise AuthorisationRefused(
                "This link attempt was already used, so nothing more was linked. Your banks are on your dashboard.",
                code="state_used",
                target=attempt.partner,
                status=400,
            )
        if attempt.is_expired:
            raise AuthorisationRefused(
                "This link attempt took too long and expired, so nothing was linked. Start again.",
                code="state_expired",
                target=attempt.partner,
                status=400,
            )
        attempt.used_at = timezone.now()
        attempt.save(update_fields=["used_at"])
    return attempt


def link_complete(
    *, user: User, state: str, code: str, session_binding: str, error: str = "", ip: str | None = None
) -> AccountLink:
    """Finish linking: check the state (single use, unexpired, this session's), exchange the code, link."""
    with refusals_audited(actor=user, ip=ip):
        # The state is spent in its own transaction, so it stays spent whatever happens next.
        attempt = _consume_state(user=user, state=state, session_binding=session_binding)
        partner = attempt.partner
        if error:
            raise ApplicationError(
                f"You did not allow {partner} to connect your account, so nothing was linked.",
                code="link_declined",
                status=400,
            )
        connector = connector_for(partner)
        if connector is None or not code:
            raise ApplicationError(
                f"{partner} did not send an authorisation code. Start again.", code="code_missing", status=400
            )
        try:
            account = connector.exchange_code(
                partner=partner, code=code, code_verifier=attempt.code_verifier, redirect_uri=callback_path()
            )
        except CodeExchangeError as exc:
            raise AuthorisationRefused(
                f"{partner} did not accept the authorisation code ({exc.description}), so nothing was linked. "
                "Start again from the list of banks.",
                code="code_invalid",
                target=partner,
                audit_data={"bank_error": exc.error},
                status=400,
            ) from exc
        return link_create(user=user, partner=partner, account=account, actor=user, ip=ip)


def link_create(
    *, user: User, partner: Partner, account: LinkedAccount, actor: Any, ip: str | None = None
) -> AccountLink:
    """Record that `user` linked `account` at `partner`; linking the same account again returns the link."""
    with refusals_audited(actor=actor, ip=ip):
        _require_open(partner, user)
        try:
            with transaction.atomic():
                existing = (
                    AccountLink.objects.active()
                    .filter(user=user, partner=partner, account_ref=account.account_ref)
                    .first()
                )
                if existing is not None:
                    return existing
                link = AccountLink(
                    user=user, partner=partner, account_ref=account.account_ref, account_mask=account.account_mask
                )
                link.full_clean(validate_constraints=False)
                link.save()
                _record_event(kind=ConsentEvent.Kind.LINKED, link=link, grant=None, actor=actor_label(actor))
                audit_append(
                    action="consent.link",
                    actor=actor,
                    target=link,
                    data={"user": user.pk, "partner": partner.slug, "account_mask": link.account_mask},
                    ip=ip,
                )
        except IntegrityError:  # the same account linked in two tabs at once: the other one won
            return AccountLink.objects.active().get(user=user, partner=partner, account_ref=account.account_ref)
    return link


def link_unlink(*, link: AccountLink, actor: Any, ip: str | None = None) -> AccountLink:
    """Unlink an account: every active grant on it is revoked at commit, then the link is closed."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        link = _lock_link(link.pk)
        require_may_act(
            actor, RevokedBy.USER, user_id=link.user_id, partner_id=link.partner_id, target=link, what="unlink it"
        )
        if not link.is_active:
            raise Conflict("This account is already unlinked. Nothing was changed.", code="link_unlinked")
        now = timezone.now()
        revoked = _revoke_active_on_link(
            link=link, by=RevokedBy.USER, reason="You unlinked the account.", actor=actor, ip=ip, at=now
        )
        link.status = AccountLink.Status.UNLINKED
        link.unlinked_at = now
        link.save(update_fields=["status", "unlinked_at"])
        _record_event(kind=ConsentEvent.Kind.UNLINKED, link=link, grant=None, actor=RevokedBy.USER, at=now)
        audit_append(
            action="consent.unlink",
            actor=actor,
            target=link,
            data={"partner": link.partner.slug, "revoked_grants": [g.pk for g in revoked]},
            ip=ip,
        )
        _signal_after_commit(event=signals.UNLINKED, link=link, grant_ids=[g.pk for g in revoked])
    return link


# --- Granting -----------------------------------------------------------------------------------------


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
        version = versions.get(choice.scope_version_id)
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
        key = (scope.pk, choice.purpose)
        if key in seen:
            raise ApplicationError("The same permission was ticked twice. Reload the page.", code="invalid")
        seen.add(key)
        checked.append((GrantChoice(choice.scope_version_id, choice.purpose, types), version))
    return checked


def _already_granted(name: str) -> Conflict:
    return Conflict(
        f"You already granted '{name}' for this purpose, so nothing was granted twice. It is on your dashboard.",
        code="already_granted",
    )


def consent_grant(
    *, user: User, link: AccountLink, choices: Sequence[GrantChoice], ip: str | None = None
) -> list[ConsentGrant]:
    """Grant each ticked purpose of each scope on `link`; all or nothing; one receipt per grant."""
    try:
        with refusals_audited(actor=user, ip=ip), transaction.atomic():
            link = _lock_link(link.pk)
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
            _require_open(link.partner, user, target=link)
            checked = _checked_choices(link, choices)
            now = timezone.now()
            terms = _accepted_terms(link.partner)
            granted: list[ConsentGrant] = []
            for choice, version in checked:
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
                    expires_at=now + timedelta(days=min(version.max_duration_days, MAX_GRANT_DAYS)),
                    terms=terms,
                )
                grant.save(force_insert=True)
                _record_event(kind=ConsentEvent.Kind.GRANTED, link=link, grant=grant, actor=RevokedBy.USER, at=now)
                _audit_grant("consent.grant", actor=user, grant=grant, ip=ip, terms_version=terms and terms.version)
                granted.append(grant)
            _signal_after_commit(event=signals.GRANTED, link=link, grant_ids=[g.pk for g in granted])
    except IntegrityError as exc:  # a concurrent request granted the same thing first
        raise _already_granted("this permission") from exc
    return granted


def consent_narrow(
    *, grant: ConsentGrant, message_types: Iterable[str], actor: Any, ip: str | None = None
) -> ConsentGrant:
    """Switch some of a grant's message types off; switching one back on needs a new grant."""
    wanted = list(dict.fromkeys(message_types))
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        link = _lock_link(grant.link_id)
        grant = _locked_grant(grant.pk)
        require_may_act(
            actor, RevokedBy.USER, user_id=grant.user_id, partner_id=grant.partner_id, target=grant, what="change it"
        )
        if not grant.is_active:
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
        _record_event(kind=ConsentEvent.Kind.NARROWED, link=link, grant=grant, actor=actor_label(actor))
        _audit_grant("consent.narrow", actor=actor, grant=grant, ip=ip, message_types_before=before)
        _signal_after_commit(event=signals.NARROWED, link=link, grant_ids=[grant.pk])
    return grant


def consent_renew(
    *, grant: ConsentGrant, actor: Any, scope_version_id: int | None = None, ip: str | None = None
) -> ConsentGrant:
    """Extend an active grant from now, pinned to the scope version the person just read."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        link = _lock_link(grant.link_id)
        grant = _locked_grant(grant.pk)
        require_may_act(
            actor, RevokedBy.USER, user_id=grant.user_id, partner_id=grant.partner_id, target=grant, what="renew it"
        )
        if grant.status != ConsentGrant.Status.ACTIVE or grant.is_expired():
            raise Conflict(
                "This permission has already ended, so it cannot be renewed. Grant it again from the bank's page.",
                code="grant_not_active",
            )
        _require_open(link.partner, link.user, target=grant)
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
        grant.expires_at = now + timedelta(days=min(version.max_duration_days, MAX_GRANT_DAYS))
        grant.renewed_at = now
        grant.reminder_sent_at = None
        grant.terms = _accepted_terms(link.partner)
        grant.save(update_fields=["scope_version", "expires_at", "renewed_at", "reminder_sent_at", "terms"])
        _record_event(kind=ConsentEvent.Kind.RENEWED, link=link, grant=grant, actor=actor_label(actor), at=now)
        _audit_grant("consent.renew", actor=actor, grant=grant, ip=ip, before=before)
        _signal_after_commit(event=signals.GRANTED, link=link, grant_ids=[grant.pk])
    return grant


# --- Revoking -----------------------------------------------------------------------------------------


def _end_grant(
    grant: ConsentGrant,
    *,
    link: AccountLink,
    status: str,
    by: str,
    reason: str,
    actor: Any,
    ip: str | None,
    at: datetime,
) -> None:
    """End one locked, active grant as revoked or expired: event, receipt and audit entry."""
    grant.status = status
    grant.deletion_due_at = at + deletion_deadline()
    if status == ConsentGrant.Status.REVOKED:
        grant.revoked_at = at
        grant.revoked_by = by
        grant.revoke_reason = reason[:300]
    grant.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason", "deletion_due_at"])
    kind = ConsentEvent.Kind.REVOKED if status == ConsentGrant.Status.REVOKED else ConsentEvent.Kind.EXPIRED
    _record_event(kind=kind, link=link, grant=grant, actor=by, reason=reason[:300], at=at)
    action = "consent.revoke" if status == ConsentGrant.Status.REVOKED else "consent.expire"
    _audit_grant(action, actor=actor, grant=grant, ip=ip, by=by, reason=reason, deletion_due_at=grant.deletion_due_at)


def _revoke_active_on_link(
    *,
    link: AccountLink,
    by: str,
    reason: str,
    actor: Any,
    ip: str | None,
    at: datetime,
    filters: dict[str, Any] | None = None,
) -> list[ConsentGrant]:
    grants = list(
        ConsentGrant.objects.select_for_update(of=("self",))
        .select_related("scope", "scope_version", "terms")
        .filter(link=link, status=ConsentGrant.Status.ACTIVE, **(filters or {}))
        .order_by("pk")
    )
    for grant in grants:
        _end_grant(
            grant, link=link, status=ConsentGrant.Status.REVOKED, by=by, reason=reason, actor=actor, ip=ip, at=at
        )
    return grants


def consent_revoke(
    *, grant: ConsentGrant, actor: Any, by: str = RevokedBy.USER, reason: str = "", ip: str | None = None
) -> ConsentGrant:
    """Revoke one grant: the consent check fails from this commit on; the bank owes a deletion attestation."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        link = _lock_link(grant.link_id)
        grant = _locked_grant(grant.pk)
        require_may_act(
            actor, by, user_id=grant.user_id, partner_id=grant.partner_id, target=grant, what="withdraw this permission"
        )
        if grant.status != ConsentGrant.Status.ACTIVE:
            raise Conflict(
                "This permission was already withdrawn or has expired. Nothing was changed.", code="grant_not_active"
            )
        _end_grant(
            grant,
            link=link,
            status=ConsentGrant.Status.REVOKED,
            by=by,
            reason=reason or _default_reason(by),
            actor=actor,
            ip=ip,
            at=timezone.now(),
        )
        _signal_after_commit(event=signals.REVOKED, link=link, grant_ids=[grant.pk])
    return grant


def _default_reason(by: str) -> str:
    reasons: dict[str, str] = {
        RevokedBy.USER: "You withdrew this permission.",
        RevokedBy.BANK: "The bank withdrew this permission.",
        RevokedBy.PLATFORM: "The platform withdrew this permission.",
        RevokedBy.COMPLIANCE: "Compliance staff withdrew this permission.",
        RevokedBy.SYSTEM: "The platform withdrew this permission automatically.",
    }
    return reasons.get(by, "")


def consent_revoke_all_for_link(
    *, link: AccountLink, actor: Any, by: str = RevokedBy.USER, reason: str = "", ip: str | None = None
) -> list[ConsentGrant]:
    """Revoke every active grant on one link (the account stays linked); return what was revoked."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        link = _lock_link(link.pk)
        require_may_act(
            actor, by, user_id=link.user_id, partner_id=link.partner_id, target=link, what="withdraw these permissions"
        )
        revoked = _revoke_active_on_link(
            link=link, by=by, reason=reason or _default_reason(by), actor=actor, ip=ip, at=timezone.now()
        )
        if revoked:
            _signal_after_commit(event=signals.REVOKED, link=link, grant_ids=[g.pk for g in revoked])
    return revoked


def consent_revoke_everything(
    *, user: User, actor: Any, by: str = RevokedBy.USER, reason: str = "", ip: str | None = None
) -> list[ConsentGrant]:
    """Revoke every active grant `user` has at every bank, in one transaction; return what was revoked."""
    with refusals_audited(actor=actor, ip=ip), transaction.atomic():
        if by == RevokedBy.BANK:
            raise ApplicationError("A bank withdraws its grants one link at a time.", code="invalid")
        require_may_act(actor, by, user_id=user.pk, partner_id=0, target=user, what="withdraw these permissions")
        now = timezone.now()
        revoked: list[ConsentGrant] = []
        # Lock in id order, as every other service does one link at a time, so that nothing deadlocks.
        link_ids = list(
            ConsentGrant.objects.filter(user=user, status=ConsentGrant.Status.ACTIVE)
            .order_by("link_id")
            .values_list("link_id", flat=True)
            .distinct()
        )
        for link_id in link_ids:
            link = _lock_link(link_id)
            on_link = _revoke_active_on_link(
                link=link, by=by, reason=reason or _default_reason(by), actor=actor, ip=ip, at=now
            )
            if on_link:
                _signal_after_commit(event=signals.REVOKED, link=link, grant_ids=[g.pk for g in on_link])
            revoked.extend(on_link)
        audit_append(
            action="consent.revoke_everything",
            actor=actor,
            target=user,
            data={"by": by, "revoked_grants": [g.pk for g in revoked]},
            ip=ip,
        )
    return revoked


def consent_revoke_where(
    *, grants: models.QuerySet[ConsentGrant], by: str, reason: str, actor: Any = None
) -> list[ConsentGrant]:
    """Revoke the active grants in `grants` (a scope retired, a purpose withdrawn, a bank withdrawn), per link.

    Called by the receivers of partners' signals, never by a view: the change it follows was already
    authorised and audited by the partners service that made it.
    """
    revoked: list[ConsentGrant] = []
    ids_by_link: dict[int, list[int]] = defaultdict(list)
    for grant_id, link_id in grants.filter(status=ConsentGrant.Status.ACTIVE).values_list("pk", "link_id"):
        ids_by_link[link_id].append(grant_id)
    for link_id in sorted(ids_by_link):
        with transaction.atomic():
            link = _lock_link(link_id)
            on_link = _revoke_active_on_link(
                link=link,
                by=by,
                reason=reason,
                actor=actor,
                ip=None,
                at=timezone.now(),
                filters={"pk__in": ids_by_link[link_id]},
            )
            if on_link:
                _signal_after_commit(event=signals.REVOKED, link=link, grant_ids=[g.pk for g in on_link])
            revoked.extend(on_link)
    return revoked


# --- Expiry, reminders and deletion ------------------------------------------------------------------


def consent_expire_due(*, at: datetime | None = None) -> int:
    """Expire every grant whose end date has passed, one link per transaction; return how many expired."""
    at = at or timezone.now()
    ids_by_link: dict[int, list[int]] = defaultdict(list)
    for grant_id, link_id in ConsentGrant.objects.due_to_expire(at).values_list("pk", "link_id"):
        ids_by_link[link_id].append(grant_id)
    expired = 0
    system = Actor.system("consent expiry")
    for link_id in sorted(ids_by_link):
        with transaction.atomic():
            link = _lock_link(link_id)
            grants = list(
                ConsentGrant.objects.select_for_update(of=("self",))
                .select_related("scope", "scope_version", "terms")
                .due_to_expire(at)
                .filter(link=link, pk__in=ids_by_link[link_id])
                .order_by("pk")
            )
            for grant in grants:
                _end_grant(
                    grant,
                    link=link,
                    status=ConsentGrant.Status.EXPIRED,
                    by=RevokedBy.SYSTEM,
                    reason="The permission reached its end date.",
                    actor=system,
                    ip=None,
                    at=at,
                )
            if grants:
                _signal_after_commit(event=signals.EXPIRED, link=link, grant_ids=[g.pk for g in grants])
            expired += len(grants)
    return expired


def consent_send_expiry_reminders(*, at: datetime | None = None) -> int:
    """Email each person whose grants end within the reminder window, once per grant; return how many people."""
    at = at or timezone.now()
    due = (
        ConsentGrant.objects.active(at)
        .filter(expires_at__lte=at + reminder_lead_time(), reminder_sent_at__isnull=True)
        .values_list("user_id", flat=True)
        .distinct()
    )
    reminded = 0
    system = Actor.system("consent reminders")
    for user_id in sorted(set(due)):
        with transaction.atomic():
            grants = list(
                ConsentGrant.objects.select_for_update(of=("self",))
                .select_related("partner", "scope_version", "user")
                .active(at)
                .filter(user_id=user_id, expires_at__lte=at + reminder_lead_time(), reminder_sent_at__isnull=True)
                .order_by("expires_at", "pk")
            )
            if not grants:
                continue  # another beat got there first
            ConsentGrant.objects.filter(pk__in=[g.pk for g in grants]).update(reminder_sent_at=at)
            user = grants[0].user
            audit_append(
                action="consent.expiry_reminder",
                actor=system,
                target=user,
                data={"grants": [g.pk for g in grants], "email": user.email},
            )
            _email_reminder(user, grants)
            _signal_reminded_after_commit(user_id=user_id, grant_ids=[g.pk for g in grants])
            reminded += 1
    return reminded


def _signal_reminded_after_commit(*, user_id: int, grant_ids: list[int]) -> None:
    transaction.on_commit(
        lambda: signals.consent_expiry_reminded.send(sender=ConsentGrant, user_id=user_id, grant_ids=grant_ids)
    )


def _zone(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _email_reminder(user: User, grants: list[ConsentGrant]) -> None:
    lines = [
        f"- {grant.partner}: {grant.scope_version.name} for {grant.get_purpose_display().lower()}, "
        f"ends {timezone.localtime(grant.expires_at, _zone(user)):%d %B %Y}"
        for grant in grants
    ]
    url = f"{settings.PORTAL_SITE_URL.rstrip('/')}{reverse('consent:dashboard')}"
    body = (
        "These permissions you gave your banks end soon:\n\n"
        + "\n".join(lines)
        + f"\n\nTo keep them, renew them on your dashboard: {url}\n"
        "If you do nothing, they simply end and your banks stop sending you these messages.\n"
    )
    to = user.email
    transaction.on_commit(
        lambda: send_mail("Your bank permissions end soon", body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=True)
    )


def consent_attest_deletion(
    *, grant: ConsentGrant, partner: Partner, actor: Any, note: str = "", ip: str | None = None
) -> ConsentGrant:
    """Record the bank's statement that it deleted the data of an ended grant; repeating it changes nothing."""
    with transaction.atomic():
        grant = _locked_grant(grant.pk)
        if grant.partner_id != partner.pk:
            raise NotFound("Your bank has no consent with this id.")
        if grant.deletion_attested_at is not None:
            return grant
        if grant.status == ConsentGrant.Status.ACTIVE:
            raise Conflict(
                "This consent is still active: keep the data while it is, and attest deletion after it is "
                "revoked or expires.",
                code="consent_active",
            )
        link = _lock_link(grant.link_id)
        grant.deletion_attested_at = timezone.now()
        grant.save(update_fields=["deletion_attested_at"])
        _record_event(
            kind=ConsentEvent.Kind.DELETION_ATTESTED,
            link=link,
            grant=grant,
            actor=RevokedBy.BANK,
            reason=note.strip()[:300],
            at=grant.deletion_attested_at,
        )
        _audit_grant(
            "consent.deletion_attest",
            actor=actor,
            grant=grant,
            ip=ip,
            note=note.strip()[:300],
            late=bool(grant.deletion_due_at and grant.deletion_attested_at > grant.deletion_due_at),
        )
    return grant
