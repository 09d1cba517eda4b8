"""Undoing a withdrawal moments after it: new grants on the same wording, recorded as an undo."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby
from operator import attrgetter

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import time_format

from partners.models import UsageTerms
from portal.errors import Conflict
from portal.models import User

from .. import signals
from ..models import AccountLink, ConsentGrant
from ..refusals import refusals_audited
from ..undo import undoable
from .granting import GrantChoice, _accepted_terms, _already_granted, _checked_choice, _grant_one
from .locks import lock_link
from .openness import require_open
from .records import announce_change


def consent_undo_withdrawal(*, user: User, grant_ids: Sequence[int], ip: str | None = None) -> list[ConsentGrant]:
    """Grant again, on the same scope version, purpose, messages and end date, what `user` just withdrew.

    The withdrawn grants stay withdrawn (the bank was told, and its deletion duty stands); each new
    grant has its own receipt saying it undoes that withdrawal. All or nothing.
    """
    wanted = set(grant_ids)
    try:
        with refusals_audited(actor=user, ip=ip), transaction.atomic():
            now = timezone.now()
            withdrawn = list(
                ConsentGrant.objects.select_related("scope_version__scope__partner", "link__partner")
                .filter(user=user, pk__in=wanted)
                .order_by("link_id", "pk")
            )
            if not wanted or len(withdrawn) != len(wanted) or not all(undoable(g, now=now) for g in withdrawn):
                raise Conflict(
                    "This withdrawal can no longer be undone: the few minutes to undo it have passed. "
                    "Grant the permission again from the bank's page if you want it back.",
                    code="undo_expired",
                )
            restored: list[ConsentGrant] = []
            for link_id, on_link in groupby(withdrawn, key=attrgetter("link_id")):
                link = lock_link(link_id)
                if not link.is_active:
                    raise Conflict(
                        "This account is no longer linked, so its permissions cannot come back. Link it again.",
                        code="link_unlinked",
                    )
                require_open(link.partner, user, target=link)
                terms = _accepted_terms(link.partner)
                again = [_undo_one(old, user=user, link=link, terms=terms, now=now, ip=ip) for old in on_link]
                announce_change(event=signals.GRANTED, link=link, grant_ids=[g.pk for g in again])
                restored.extend(again)
    except IntegrityError as exc:  # a concurrent request granted the same thing first
        raise _already_granted("this permission") from exc
    return restored


def _undo_one(
    old: ConsentGrant, *, user: User, link: AccountLink, terms: UsageTerms | None, now: datetime, ip: str | None
) -> ConsentGrant:
    """Grant `old` again on `link`, if its bank still offers that wording for that purpose."""
    choice, version = _checked_choice(
        link, GrantChoice(old.scope_version_id, old.purpose, tuple(old.message_types)), old.scope_version
    )
    assert old.revoked_at is not None
    return _grant_one(
        user=user,
        link=link,
        choice=choice,
        version=version,
        terms=terms,
        now=now,
        ip=ip,
        expires_at=old.expires_at,
        reason=f"You undid your withdrawal of {time_format(timezone.localtime(old.revoked_at), 'H:i')}.",
        action="consent.undo_withdrawal",
        undoes=old.pk,
    )
