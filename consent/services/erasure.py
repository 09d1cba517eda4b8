"""Erasing a person, consent's part: end every grant and link, pseudonymise what the law says to keep.

Consent records (grants and their events, each a receipt) are kept for at least three years after the
person's last authorisation (`CONSENT_RECORDS_KEPT_DAYS`), so they stay, pseudonymised: the receipts
lose the person's address and the account's numbers, and are sealed again. Events are immutable in
the database (UPDATE is refused; DELETE is allowed for erasure), so each is written again under its own
id and receipt id. Called by `compliance.data_requests.erasure` inside its transaction.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_append
from portal.models import User

from ..models import AccountLink, ConsentEvent, LinkAuthorisation
from ..policy import RevokedBy, require_may_act
from ..receipts import seal
from .locks import lock_link
from .records import record_event
from .revoking import consent_revoke_everything

ERASED_REF = "erased"
ERASED_MASK = "••••"
REASON = "The person's data was erased at their request."


def _pseudonymised_receipt(text: str) -> tuple[str, str]:
    body: dict[str, Any] = json.loads(text)
    body["person"] = {"id": (body.get("person") or {}).get("id"), "email": None, "pseudonymised": True}
    account = body.get("account") or {}
    body["account"] = {**account, "account_mask": ERASED_MASK}
    return seal(body)


def consent_pseudonymise_person(*, person: User, actor: Any) -> dict[int, list[int]]:
    """End the person's grants and links and pseudonymise their consent records; return link ids by bank."""
    with transaction.atomic():
        require_may_act(
            actor, RevokedBy.COMPLIANCE, user_id=person.pk, partner_id=0, target=person, what="erase this person"
        )
        consent_revoke_everything(user=person, actor=actor, by=RevokedBy.COMPLIANCE, reason=REASON)
        now = timezone.now()
        links_by_bank: dict[int, list[int]] = {}
        for link_id in AccountLink.objects.filter(user=person).order_by("pk").values_list("pk", flat=True):
            link = lock_link(link_id)
            links_by_bank.setdefault(link.partner_id, []).append(link.pk)
            if link.is_active:
                link.status, link.unlinked_at = AccountLink.Status.UNLINKED, now
                record_event(kind=ConsentEvent.Kind.UNLINKED, link=link, grant=None, actor=RevokedBy.COMPLIANCE, at=now)
            link.account_ref, link.account_mask = f"{ERASED_REF}-{link.pk}", ERASED_MASK
            link.save(update_fields=["status", "unlinked_at", "account_ref", "account_mask"])
        events = list(ConsentEvent.objects.filter(user=person).order_by("pk"))
        ConsentEvent.objects.filter(pk__in=[event.pk for event in events]).delete()
        for event in events:
            event.receipt_json, event.receipt_sha256 = _pseudonymised_receipt(event.receipt_json)
            event._state.adding = True
        ConsentEvent.objects.bulk_create(events)
        LinkAuthorisation.objects.filter(user=person).delete()
        audit_append(
            action="consent.person_pseudonymised",
            actor=actor,
            target=person,
            data={"links": sorted(pk for pks in links_by_bank.values() for pk in pks), "receipts": len(events)},
        )
    return links_by_bank
