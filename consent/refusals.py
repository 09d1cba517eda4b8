"""The refusal a consent service raises when someone acts on what is not theirs, and its audit entry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models, transaction

from compliance.audit import audit_append
from portal.errors import PermissionDenied


class AuthorisationRefused(PermissionDenied):
    """Someone tried to act on a link, grant or flow that is not theirs, or sent a tampered form.

    Raised inside a service's transaction; `refusals_audited` writes the audit entry after that
    transaction rolled back, so the refusal is on the record and nothing else changed.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        target: models.Model | None = None,
        audit_data: dict[str, Any] | None = None,
        status: int | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status, fields=fields)
        self.target = target
        self.audit_data = audit_data or {}


@contextmanager
def refusals_audited(*, actor: Any, ip: str | None) -> Iterator[None]:
    """Audit an `AuthorisationRefused` raised inside the block, in a transaction of its own, and re-raise it."""
    try:
        yield
    except AuthorisationRefused as refusal:
        with transaction.atomic():
            audit_append(
                action="consent.refused",
                actor=actor,
                target=refusal.target,
                data={"code": refusal.code, "message": refusal.message, **refusal.audit_data},
                ip=ip,
            )
        raise
