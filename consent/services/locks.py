"""Row locks on a link and its grants, link first: every change to a link's grants queues on the link's row."""

from __future__ import annotations

from typing import Any

from ..models import AccountLink, ConsentGrant
from ..policy import require_may_act


def lock_link(link_id: int) -> AccountLink:
    """Lock the link row: every change to a link's grants queues here, so concurrent clicks serialise."""
    return AccountLink.objects.select_for_update(of=("self",)).select_related("partner", "user").get(pk=link_id)


def locked_grant(grant_id: int) -> ConsentGrant:
    """Lock and return the grant row, with what its event, receipt and audit entry read."""
    return (
        ConsentGrant.objects.select_for_update(of=("self",))
        .select_related("scope", "scope_version", "terms", "partner", "user")
        .get(pk=grant_id)
    )


def lock_grant_to_change(grant: ConsentGrant, *, actor: Any, by: str, what: str) -> tuple[AccountLink, ConsentGrant]:
    """Lock `grant`'s link, then the grant, and refuse unless `actor` may change it as `by`; return both, fresh."""
    link = lock_link(grant.link_id)
    grant = locked_grant(grant.pk)
    require_may_act(actor, by, user_id=grant.user_id, partner_id=grant.partner_id, target=grant, what=what)
    return link, grant
