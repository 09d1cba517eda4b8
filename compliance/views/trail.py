"""The audit trail pages for compliance staff: the list and its verification."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from portal.models import User
from portal.roles import role_required

from ..audit import audit_seal, audit_verify
from ..selectors import audit_entries


@role_required(User.Role.COMPLIANCE_STAFF)
def home(request: HttpRequest) -> HttpResponse:
    """Show the audit trail, newest first, 50 a page, filterable by action and target."""
    action = request.GET.get("action", "").strip()[:100]
    target = request.GET.get("target", "").strip()[:100]
    page = Paginator(audit_entries(action=action, target=target), 50).get_page(request.GET.get("page"))
    return render(request, "compliance/home.html", {"page": page, "action": action, "target": target})


@role_required(User.Role.COMPLIANCE_STAFF)
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """Seal what is ready, verify the whole hash chain against the signed checkpoints and show the result."""
    audit_seal()
    report = audit_verify()
    return render(request, "compliance/verify.html", {"report": report})
