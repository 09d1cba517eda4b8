"""Who may act for a bank: the one home of that rule, asked by every service, page and API view."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from guardian.shortcuts import get_perms

from compliance.audit import Actor, audit_append
from portal.errors import PermissionDenied
from portal.models import User

from .models import Partner, PartnerApiKey
from .permissions import ROLE_PERMISSIONS


class BankAction(models.TextChoices):
    """Something a person or an API key does on a bank's behalf; the label completes "You cannot ..."."""

    VIEW = "view", "see the bank's pages"
    MANAGE_CATALOG = "manage_catalog", "change the bank's scopes and chatbot capabilities"
    MANAGE_KEYS = "manage_keys", "create, rotate or revoke the bank's API keys"
    REVOKE_KEY = "revoke_key", "revoke the bank's API keys"
    MANAGE_WEBHOOKS = "manage_webhooks", "change the bank's webhook endpoints"
    REPLAY = "replay", "send the bank's dead letters and webhooks again"
    MANAGE_MEMBERS = "manage_members", "invite or remove the bank's people"
    ACCEPT_TERMS = "accept_terms", "accept the usage terms for the bank"
    ACT_ON_CONSENTS = "act_on_consents", "end a person's consent on the bank's behalf"
    READ_TRAIL = "read_trail", "read the bank's slice of the audit trail"


# Guardian holds each member's permissions on their bank (`assign_perm` only in services/members);
# this says which of those permissions each action needs. `manage_members` is the managers' own,
# `view_trail` the compliance contact's and the managers'.
ACTION_PERMISSION: dict[BankAction, str] = {
    BankAction.VIEW: "view_partner",
    BankAction.MANAGE_CATALOG: "manage_partner",
    BankAction.MANAGE_KEYS: "manage_partner",
    BankAction.REVOKE_KEY: "manage_partner",
    BankAction.MANAGE_WEBHOOKS: "manage_partner",
    BankAction.REPLAY: "manage_partner",
    BankAction.MANAGE_MEMBERS: "manage_members",
    BankAction.ACCEPT_TERMS: "manage_members",
    BankAction.ACT_ON_CONSENTS: "manage_members",
    BankAction.READ_TRAIL: "view_trail",
}

# What the partner API lets a bank's servers do with its own key; people, keys and terms are the
# managers' business on the bank's pages, never a server's.
API_KEY_ACTIONS = frozenset(
    {
        BankAction.VIEW,
        BankAction.MANAGE_CATALOG,
        BankAction.MANAGE_WEBHOOKS,
        BankAction.REPLAY,
        BankAction.ACT_ON_CONSENTS,
    }
)

# Platform staff replay any bank's dead letters from their delivery queues page, and revoke a key
# that leaked (an admin action); nothing else.
STAFF_ACTIONS = frozenset({BankAction.REPLAY, BankAction.REVOKE_KEY})


def actions_of_role(role: str) -> frozenset[BankAction]:
    """Return what a member with `role` may do for their bank (the README's role table)."""
    return _actions_of_permissions(ROLE_PERMISSIONS[role])


def _actions_of_permissions(codenames: Any) -> frozenset[BankAction]:
    held = set(codenames)
    return frozenset(action for action, codename in ACTION_PERMISSION.items() if codename in held)


def _is_platform(actor: Any) -> bool:
    # None is what tests, factories, seed_demo and a bank's own application pass; a system Actor is
    # the platform's own work (beat, the delivery worker). Neither is a person acting for a bank.
    return actor is None or (isinstance(actor, Actor) and actor.type == Actor.system().type)


def allowed_actions(actor: Any, partner: Partner) -> frozenset[BankAction]:
    """Return every action `actor` (a person, an API key, the platform or None) may take for `partner`."""
    if _is_platform(actor):
        return frozenset(BankAction)
    if isinstance(actor, PartnerApiKey):
        return API_KEY_ACTIONS if actor.partner_id == partner.pk else frozenset()
    if not isinstance(actor, User) or not actor.is_active:
        return frozenset()
    actions = _actions_of_permissions(get_perms(actor, partner))
    if actor.has_role(User.Role.PLATFORM_STAFF):
        actions |= STAFF_ACTIONS
    return actions


def member_may(actor: Any, partner: Partner, action: BankAction) -> bool:
    """Return True when `actor` may take `action` for `partner`."""
    return action in allowed_actions(actor, partner)


def refusal(actor: Any, partner: Partner, action: BankAction) -> PermissionDenied:
    """Audit that `actor` was refused `action` for `partner`, and return the error that says what to do.

    The entry is written in a transaction of its own where the refusal is decided, before anything
    changed, so a refused write leaves exactly this one entry (none if the caller's own outer
    transaction rolls back with the error).
    """
    if isinstance(actor, PartnerApiKey):
        message = (
            f"An API key cannot {action.label}. Ask a manager of {partner} to do it on the bank's pages. "
            "Nothing was changed."
        )
    else:
        message = (
            f"Your role at {partner} does not let you {action.label}. Ask a manager of {partner} to do it, "
            "or to give you a role that may. Nothing was changed."
        )
    error = PermissionDenied(message, code="not_allowed")
    with transaction.atomic():
        audit_append(
            action="partner.refused",
            actor=actor,
            target=partner,
            data={"code": error.code, "bank_action": action.value},
        )
    return error


def require_member_may(actor: Any, partner: Partner, action: BankAction) -> None:
    """Raise PermissionDenied (`not_allowed`, audited once) unless `actor` may take `action` for `partner`."""
    if not member_may(actor, partner, action):
        raise refusal(actor, partner, action)
