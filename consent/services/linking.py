"""Linking an account at a bank (OAuth 2.0 authorisation code with PKCE and state) and unlinking it."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.audit import audit_append
from partners.models import Partner
from portal.errors import ApplicationError, Conflict
from portal.models import User

from .. import signals
from ..connectors import CodeExchangeError, LinkedAccount, callback_path, connector_for
from ..models import AccountLink, ConsentEvent, ConsentGrant, LinkAuthorisation, sha256_hex
from ..pkce import new_code_verifier, s256_challenge
from ..policy import actor_label, require_may_act
from ..refusals import AuthorisationRefused, refusals_audited
from .locks import lock_link
from .openness import require_open
from .records import announce_change, record_event
from .revoking import revoke_active_on_link

RevokedBy = ConsentGrant.RevokedBy


def link_start(*, user: User, partner: Partner, session_binding: str, ip: str | None = None) -> str:
    """Start linking an account at `partner`: record a one-time state and PKCE verifier; return the bank's URL.

    `session_binding` is a secret kept in the person's session; the callback must present it again.
    """
    with refusals_audited(actor=user, ip=ip):
        require_open(partner, user)
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
        require_open(partner, user)
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
                record_event(kind=ConsentEvent.Kind.LINKED, link=link, grant=None, actor=actor_label(actor))
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
        link = lock_link(link.pk)
        require_may_act(
            actor, RevokedBy.USER, user_id=link.user_id, partner_id=link.partner_id, target=link, what="unlink it"
        )
        if not link.is_active:
            raise Conflict("This account is already unlinked. Nothing was changed.", code="link_unlinked")
        now = timezone.now()
        revoked = revoke_active_on_link(
            link=link, by=RevokedBy.USER, reason="You unlinked the account.", actor=actor, ip=ip, at=now
        )
        link.status = AccountLink.Status.UNLINKED
        link.unlinked_at = now
        link.save(update_fields=["status", "unlinked_at"])
        record_event(kind=ConsentEvent.Kind.UNLINKED, link=link, grant=None, actor=RevokedBy.USER, at=now)
        audit_append(
            action="consent.unlink",
            actor=actor,
            target=link,
            data={"partner": link.partner.slug, "revoked_grants": [g.pk for g in revoked]},
            ip=ip,
        )
        announce_change(event=signals.UNLINKED, link=link, grant_ids=[g.pk for g in revoked])
    return link
