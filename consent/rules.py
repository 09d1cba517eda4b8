"""The consent rule: which people a bank reaches, and when it may send them a kind of message.

Bank B may send message type T (for the purpose P that T serves) to the person behind link L at time
t when, all at once:

- the person's grant on L, to B, for P is active and unexpired at t (`ConsentGrantQuerySet.active`);
- the grant's scope is not retired (a retired scope's grants are revoked in the retiring
  transaction; the rule does not rely on that having happened);
- T is switched on in the grant;
- B reaches the person: B is live, or B is in sandbox and the person is one of its test users;
- the API key that asked works in that world: a sandbox key reaches only B's test users (live bank
  or not), a live key only people of a live bank. Without a key (the platform itself), the bank's
  status decides.

Every path that answers this question — intake, each send, the partner API, the dashboard, the
sweepers — calls this module; nothing else spells the rule out. A bank's test users are its members
(`PartnerMembership`), the only people a sandbox bank may link with.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from partners.models import Partner, PartnerApiKey, PartnerMembership
from portal.models import User

from .models import ConsentGrant, ConsentGrantQuerySet
from .purposes import MESSAGE_TYPE_BITS, purpose_of

# A key's environment ("sandbox" or "live"), or None when the platform itself asks.
Environment = str | None
SANDBOX = PartnerApiKey.Environment.SANDBOX
LIVE = PartnerApiKey.Environment.LIVE


# --- Whom a bank reaches -------------------------------------------------------------------------------


def _test_user_of_grant_bank() -> Exists:
    return Exists(PartnerMembership.objects.filter(partner_id=OuterRef("partner_id"), user_id=OuterRef("user_id")))


def reaches(environment: Environment = None) -> Q:
    """Return the condition, on grants, that their bank reaches their person in `environment`'s world."""
    live = Q(partner__status=Partner.Status.LIVE)
    if environment == LIVE:
        return live
    tester = Q(_test_user_of_grant_bank())
    if environment == SANDBOX:
        return Q(partner__status__in=(Partner.Status.SANDBOX, Partner.Status.LIVE)) & tester
    return live | (Q(partner__status=Partner.Status.SANDBOX) & tester)


def banks_open_to(user: User) -> Q:
    """Return the condition, on banks, that `user` may link and grant there (the same reach, seen from a bank)."""
    tester = Exists(PartnerMembership.objects.filter(partner=OuterRef("pk"), user=user))
    return Q(status=Partner.Status.LIVE) | (Q(status=Partner.Status.SANDBOX) & Q(tester))


def bank_open_to(partner: Partner, user: User) -> bool:
    """Return True when `user` may link and grant at `partner`."""
    return Partner.objects.filter(banks_open_to(user), pk=partner.pk).exists()


# --- Grants in force -----------------------------------------------------------------------------------


def grants_in_force(
    grants: QuerySet[ConsentGrant] | None = None, *, environment: Environment = None, at: datetime | None = None
) -> ConsentGrantQuerySet:
    """Return the grants of `grants` (default: all) that a bank may act on now: the rule but the message type."""
    grants = ConsentGrant.objects.all() if grants is None else grants
    assert isinstance(grants, ConsentGrantQuerySet)
    return grants.active(at).filter(reaches(environment), scope__retired_at__isnull=True)


def grant_in_force(grant: ConsentGrant, *, at: datetime | None = None) -> bool:
    """Return True when a bank may still act on `grant` (the rule for one grant, asked of the database)."""
    return grants_in_force(ConsentGrant.objects.filter(pk=grant.pk), at=at).exists()


def grants_allowing(
    *,
    partner_id: int,
    link_ids: Iterable[int],
    purposes: Iterable[str],
    environment: Environment = None,
    at: datetime | None = None,
) -> QuerySet[ConsentGrant]:
    """Return the grants in force of bank `partner_id` on `link_ids` for `purposes` (the check's one query)."""
    return grants_in_force(
        ConsentGrant.objects.filter(partner_id=partner_id, link_id__in=set(link_ids), purpose__in=set(purposes)),
        environment=environment,
        at=at,
    )


def consent_check(
    *, partner_id: int, link_id: int, message_type: str, environment: Environment = None, at: datetime | None = None
) -> bool:
    """Return True when bank `partner_id` may send `message_type` to the person behind `link_id` at `at`.

    One query, served by the partial index `consent_grant_check_idx` on (link, purpose, expires_at)
    WHERE status = 'active'. A revocation, expiry, retirement or suspension fails it from its commit on.
    """
    purpose = purpose_of(message_type)
    bit = MESSAGE_TYPE_BITS.get(message_type)
    if purpose is None or bit is None:
        return False
    return (
        grants_allowing(partner_id=partner_id, link_ids=[link_id], purposes=[purpose], environment=environment, at=at)
        .alias(allowed_bit=F("message_types_mask").bitand(bit))
        .filter(allowed_bit__gt=0)
        .exists()
    )


def consent_check_many(
    *,
    partner_id: int,
    pairs: Iterable[tuple[int, str]],
    environment: Environment = None,
    at: datetime | None = None,
    hold: bool = False,
) -> set[tuple[int, str]]:
    """Return which (link id, message type) pairs bank `partner_id` may send to: `consent_check` in bulk.

    One query for any number of pairs (a bank's batch of events); the message-type bits are tested
    in Python on the few grants it returns.

    With `hold` (inside a transaction) the grants the answer rests on, and the bank's row, stay
    locked FOR SHARE until the transaction ends: a revocation, expiry or suspension commits before
    the check (and the answer is no) or waits until the caller's sends are done. Sending batches
    share the lock, so they never wait for each other. (SQLite has no row locks; it runs one writer
    at a time.)
    """
    wanted = {(link_id, message_type) for link_id, message_type in pairs if purpose_of(message_type)}
    if not wanted:
        return set()
    grants = grants_allowing(
        partner_id=partner_id,
        link_ids={link_id for link_id, _type in wanted},
        purposes={purpose_of(message_type) or "" for _link, message_type in wanted},
        environment=environment,
        at=at,
    ).values_list("link_id", "purpose", "message_types_mask")
    rows: Iterable[tuple[int, str, int]] = grants
    if hold and connection.vendor == "postgresql":
        rows = _fetch_holding(grants, partner_id=partner_id)
    masks: dict[tuple[int, str], int] = {}
    for link_id, purpose, mask in rows:
        masks[(link_id, purpose)] = masks.get((link_id, purpose), 0) | mask
    return {
        (link_id, message_type)
        for link_id, message_type in wanted
        if masks.get((link_id, purpose_of(message_type) or ""), 0) & MESSAGE_TYPE_BITS.get(message_type, 0)
    }


def _fetch_holding(
    grants: QuerySet[ConsentGrant, tuple[int, str, int]], *, partner_id: int
) -> list[tuple[int, str, int]]:
    """Run the check's query holding the bank's row, then the grants, FOR SHARE (Django's FOR SHARE needs raw SQL).

    The order is every writer's: a bank's change locks its row first, and revocations lock grants
    link by link in id order. Taking the bank first, then the grants in (link, id) order, means a
    batch never holds a grant while it waits for a change that will want that grant.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("consent_check_many(hold=True) needs a transaction to hold the locks in.")
    bank_sql, bank_params = Partner.objects.filter(pk=partner_id).values_list("pk").query.sql_with_params()
    sql, params = grants.order_by("link_id", "pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{bank_sql} FOR SHARE", bank_params)
        cursor.execute(f"{sql} FOR SHARE OF {connection.ops.quote_name(ConsentGrant._meta.db_table)}", params)
        return list(cursor.fetchall())
