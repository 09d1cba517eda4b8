"""The platform's usage terms: staff publish a version, a bank's manager accepts it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from compliance.audit import audit_append
from portal.errors import ApplicationError, Conflict
from portal.models import User

from .. import signals
from ..models import Partner, TermsAcceptance, UsageTerms
from ..policy import BankAction, require_member_may


def terms_publish(
    *, title: str, body: str, actor: Any, requires_reacceptance: bool = True, grace_days: int = 30
) -> UsageTerms:
    """Publish a new version of the usage terms (platform staff); published terms never change."""
    if not title.strip() or not body.strip():
        raise ApplicationError(
            "Give the terms a title and a text.",
            fields={"title": ["Required."]} if not title.strip() else {"body": ["Required."]},
        )
    with transaction.atomic():
        # Lock the newest row so that two publishers cannot both take the next number.
        latest = UsageTerms.objects.select_for_update().order_by("-version").first()
        terms = UsageTerms(
            version=(latest.version if latest else 0) + 1,
            title=title.strip(),
            body=body,
            body_sha256=UsageTerms.digest_of(body),
            requires_reacceptance=requires_reacceptance,
            grace_days=grace_days,
            published_by=actor if isinstance(actor, User) else None,
        )
        terms.full_clean()
        terms.save()
        audit_append(
            action="terms.publish",
            actor=actor,
            target=terms,
            data={
                "version": terms.version,
                "sha256": terms.body_sha256,
                "requires_reacceptance": requires_reacceptance,
            },
        )
        signals.terms_published.send(sender=UsageTerms, terms=terms)  # the banks' webhook rows commit with it
    return terms


def terms_accept(
    *, partner: Partner, terms: UsageTerms, user: User, ip: str | None = None, user_agent: str = ""
) -> TermsAcceptance:
    """Record that a manager accepted `terms` (the current version) for `partner`."""
    require_member_may(user, partner, BankAction.ACCEPT_TERMS)
    with transaction.atomic():
        current = UsageTerms.objects.current()
        if current is None or current.pk != terms.pk:
            raise Conflict(
                "These are not the current terms any more. Reload the page and read the current version.",
                code="terms_outdated",
            )
        existing = TermsAcceptance.objects.filter(partner=partner, terms=terms).first()
        if existing is not None:
            return existing
        acceptance = TermsAcceptance(
            partner=partner,
            terms=terms,
            accepted_by=user,
            ip=ip,
            user_agent=user_agent[:500],
            text_sha256=terms.body_sha256,
        )
        acceptance.save()
        audit_append(
            action="terms.accept",
            actor=user,
            target=partner,
            data={"version": terms.version, "sha256": terms.body_sha256, "user_agent": user_agent[:200]},
            ip=ip,
        )
    return acceptance
