"""The bank's chatbot capabilities: what people can ask its bot, the scopes and message types it uses."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from compliance.audit import audit_append
from portal.errors import ApplicationError, Conflict

from ..models import ChatbotCapability, DataScope, Partner
from ..policy import BankAction, require_member_may
from ..validators import validate_changeable, validate_message_types, validate_outbound_url
from .webhooks import webhook_secret_new


def _capability_scopes(partner: Partner, codes: Any) -> list[DataScope]:
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise ApplicationError("List the scope codes this capability needs.", fields={"scopes": ["A list of codes."]})
    scopes = {s.code: s for s in partner.scopes.visible_to_users().filter(code__in=codes)}
    missing = [code for code in codes if code not in scopes]
    if missing:  # well-formed codes that clash with the bank's catalog as it stands
        raise Conflict(
            f"'{missing[0]}' is not a published scope of your bank. "
            "A capability can use only your own published scopes.",
            code="scope_not_available",
            fields={"scopes": [f"'{code}' is not one of your published scopes." for code in missing]},
        )
    return [scopes[code] for code in dict.fromkeys(codes)]


RESERVED_CAPABILITY_CODES = frozenset({"new"})  # /capabilities/new/ is the page that creates one
CAPABILITY_FIELDS = ("name", "description", "sample_utterances", "scopes", "message_types", "webhook_url", "status")


def _apply_capability(capability: ChatbotCapability, values: dict[str, Any]) -> list[DataScope] | None:
    scopes = None
    if "scopes" in values:
        scopes = _capability_scopes(capability.partner, values.pop("scopes"))
    if "message_types" in values:
        values["message_types"] = validate_message_types(values["message_types"])
    if "webhook_url" in values:
        url = values["webhook_url"] or ""
        values["webhook_url"] = validate_outbound_url(url, field="webhook_url") if url else ""
    utterances = values.get("sample_utterances")
    if utterances is not None and (
        not isinstance(utterances, list) or not all(isinstance(u, str) and u.strip() for u in utterances)
    ):
        raise ApplicationError(
            "Sample utterances are a list of sentences.", fields={"sample_utterances": ["A list of sentences."]}
        )
    for key, value in values.items():
        setattr(capability, key, value)
    return scopes


def capability_create(*, partner: Partner, code: str, actor: Any, **values: Any) -> ChatbotCapability:
    """Declare a chatbot capability of `partner`."""
    require_member_may(actor, partner, BankAction.MANAGE_CATALOG)
    values = {key: values[key] for key in CAPABILITY_FIELDS if key in values}
    values.setdefault("message_types", [])
    values.setdefault("scopes", [])
    duplicate = Conflict(
        f"Your bank already has a capability '{code}'. Edit it instead.", code="duplicate", fields={"code": ["Taken."]}
    )
    if code in RESERVED_CAPABILITY_CODES:
        raise Conflict(
            f"'{code}' is reserved by the portal's pages. Choose another code.",
            code="reserved_code",
            fields={"code": ["This code is reserved."]},
        )
    if partner.capabilities.filter(code=code).exists():
        raise duplicate
    try:
        with transaction.atomic():
            capability = ChatbotCapability(partner=partner, code=code, signing_secret=webhook_secret_new())
            scopes = _apply_capability(capability, values)
            capability.full_clean(validate_unique=False)
            capability.save()
            capability.scopes.set(scopes or [])
            audit_append(
                action="capability.create",
                actor=actor,
                target=capability,
                data={
                    "code": code,
                    "scopes": [s.code for s in scopes or []],
                    "message_types": capability.message_types,
                },
            )
    except IntegrityError as exc:  # a concurrent create won the race
        raise duplicate from exc
    return capability


def capability_update(*, capability: ChatbotCapability, actor: Any, **values: Any) -> ChatbotCapability:
    """Change a chatbot capability."""
    require_member_may(actor, capability.partner, BankAction.MANAGE_CATALOG)
    validate_changeable(values, changeable=CAPABILITY_FIELDS)
    with transaction.atomic():
        capability = (
            ChatbotCapability.objects.select_for_update(of=("self",)).select_related("partner").get(pk=capability.pk)
        )
        changes = dict(values)
        scopes = _apply_capability(capability, dict(values))
        capability.full_clean(validate_unique=False)
        capability.save()
        if scopes is not None:
            capability.scopes.set(scopes)
        audit_append(action="capability.update", actor=actor, target=capability, data=changes)
    return capability
