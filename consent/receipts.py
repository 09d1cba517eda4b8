"""Consent receipts: the canonical JSON of one consent event and its SHA-256."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from compliance.audit import canonical_json
from partners.models import Purpose

from .models import AccountLink, ConsentEvent, ConsentGrant

RECEIPT_VERSION = 1
PROMISE = (
    "Strictly opt-in. Your bank data is used only for the purposes you granted: account updates, fraud alerts, "
    "receipts and shipping, customer-service chat. It is never used for advertising, never sold, never kept "
    "longer than needed, and you can withdraw any permission at any time."
)
HOW_TO_VERIFY = (
    "To check this receipt, write the receipt part as JSON with its keys sorted, no spaces, and non-ASCII "
    "characters kept as UTF-8: the SHA-256 of those bytes, in hex, is the sha256 shown."
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def grant_snapshot(grant: ConsentGrant) -> dict[str, Any]:
    """Return the grant as a receipt records it: what was allowed, to whom, for what, until when."""
    version = grant.scope_version
    return {
        "id": grant.pk,
        "scope": grant.scope.code,
        "scope_version": version.number,
        "scope_name": version.name,
        "scope_description": version.description,
        "fields": [str(item["name"]) for item in version.fields],
        "purpose": grant.purpose,
        "purpose_label": Purpose(grant.purpose).label,
        "message_types": grant.message_types,
        "status": grant.status,
        "granted_at": _iso(grant.granted_at),
        "expires_at": _iso(grant.expires_at),
        "revoked_at": _iso(grant.revoked_at),
        "revoked_by": grant.revoked_by or None,
        "revoke_reason": grant.revoke_reason or None,
        "deletion_due_at": _iso(grant.deletion_due_at),
        "deletion_attested_at": _iso(grant.deletion_attested_at),
        "usage_terms_version": grant.terms.version if grant.terms_id and grant.terms else None,
    }


def receipt_body(
    *,
    public_id: str,
    kind: str,
    created_at: datetime,
    actor: str,
    reason: str,
    link: AccountLink,
    grant: ConsentGrant | None,
) -> dict[str, Any]:
    """Return the receipt of one consent event as a JSON-ready dict."""
    return {
        "receipt_version": RECEIPT_VERSION,
        "receipt_id": public_id,
        "issued_at": _iso(created_at),
        "event": kind,
        "event_label": ConsentEvent.Kind(kind).label,
        "by": actor,
        "reason": reason or None,
        "person": {"id": link.user_id, "email": link.user.email},
        "bank": {"slug": link.partner.slug, "name": link.partner.legal_name},
        "account": {"link_id": link.pk, "account_mask": link.account_mask, "status": link.status},
        "grant": grant_snapshot(grant) if grant is not None else None,
        "promise": PROMISE,
    }


def seal(body: dict[str, Any]) -> tuple[str, str]:
    """Return the canonical JSON of a receipt body and its SHA-256 hex digest."""
    text = canonical_json(body)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def receipt_document(event: ConsentEvent) -> dict[str, Any]:
    """Return what the person downloads: the receipt, its SHA-256, and how to check one against the other."""
    return {
        "receipt": json.loads(event.receipt_json),
        "sha256": event.receipt_sha256,
        "how_to_verify": HOW_TO_VERIFY,
    }


def receipt_verifies(document: dict[str, Any]) -> bool:
    """Return True when a downloaded receipt's hash matches its content."""
    return seal(document["receipt"])[1] == document.get("sha256")
