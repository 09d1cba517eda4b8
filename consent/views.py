"""Pages for end users: the dashboard of linked banks and what they granted."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.models import User
from portal.roles import role_required


@role_required(User.Role.END_USER)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show the person's linked banks and grants; empty until they link one."""
    return render(request, "consent/dashboard.html", {"links": []})
