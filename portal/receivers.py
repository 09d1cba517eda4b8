"""Receivers that put sign-ins, sign-outs and failed sign-ins on the audit trail."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from compliance.audit import Actor, audit_append

from .requests import client_ip


def audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Record a successful sign-in."""
    audit_append(action="auth.login", actor=user, target=user, ip=client_ip(request))


def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Record a sign-out (the user is None when the session had already expired)."""
    if user is not None:
        audit_append(action="auth.logout", actor=user, target=user, ip=client_ip(request))


def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Record a failed sign-in with the address that was tried (never the password)."""
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:254]
    audit_append(
        action="auth.login_failed",
        actor=Actor.system("anonymous"),
        data={"email": attempted},
        ip=client_ip(request),
    )
