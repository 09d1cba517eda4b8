"""Row locks on a link and a grant: every change to a link's grants queues on the link's row."""

from __future__ import annotations

from ..models import AccountLink, ConsentGrant


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
