"""The bank's scope catalog: its scopes, a scope's draft and history, publishing and retiring."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError, show_on_form

from ... import services
from ...forms import ScopeCreateForm, ScopeForm
from ...models import DataScope, DataScopeVersion, Purpose
from ...policy import BankAction
from ...scope_effects import grant_changes_of_version
from ...selectors import scope_for_partner, scopes_for_partner
from .access import BankAccess, bank_access, member_required


def _scope(access: BankAccess, code: str) -> DataScope:
    scope = scope_for_partner(partner=access.partner, code=code)
    if scope is None:
        raise Http404("No such scope.")
    return scope


@member_required
def scopes(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's scopes: code, the wording people see, and where each one stands."""
    access = bank_access(request, slug)
    rows = []
    for scope in scopes_for_partner(partner=access.partner):
        versions = list(scope.versions.all())
        rows.append({"scope": scope, "latest": versions[0] if versions else None, "published": scope.published_version})
    return render(request, "partners/bank/scopes.html", access.context("scopes", rows=rows))


@member_required
@require_http_methods(["GET", "POST"])
def scope_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Declare a new scope; it starts as a draft that the bank publishes when it is ready."""
    access = bank_access(request, slug)
    access.require(BankAction.MANAGE_CATALOG)
    form = ScopeCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        try:
            services.scope_create(partner=access.partner, code=code, actor=access.user, **form.service_values())
        except (ApplicationError, ValidationError) as error:
            show_on_form(form, error)
        else:
            messages.success(request, f"The scope {code} is saved as a draft. Publish it when it is ready.")
            return redirect("partners:scope", slug=slug, code=code)
    return render(request, "partners/bank/scope_new.html", access.context("scopes", form=form))


def _open_version(versions: list[DataScopeVersion]) -> DataScopeVersion | None:
    open_statuses = (DataScopeVersion.Status.DRAFT, DataScopeVersion.Status.PENDING_REVIEW)
    return next((version for version in versions if version.status in open_statuses), None)


def _narrowed_lines(version: DataScopeVersion) -> list[str]:
    """Return, in words, what publishing `version` took away from the version before it."""
    narrowed = version.narrowed or {}
    purposes = dict(Purpose.choices)
    lines = []
    if narrowed.get("fields_removed"):
        lines.append("Fields removed: " + ", ".join(narrowed["fields_removed"]))
    if narrowed.get("purposes_removed"):
        lines.append("Purposes removed: " + ", ".join(purposes.get(p, p) for p in narrowed["purposes_removed"]))
    if narrowed.get("max_duration_days"):
        before, after = narrowed["max_duration_days"]
        lines.append(f"Longest grant shortened from {before} to {after} days")
    return lines


@member_required
@require_http_methods(["GET", "POST"])
def scope_detail(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    """Show a scope, its draft and its version history; managers and developers edit the draft here."""
    access = bank_access(request, slug)
    scope = _scope(access, code)
    versions = list(scope.versions.all())
    draft = _open_version(versions)
    editable = scope.retired_at is None
    shown = draft or scope.published_version or (versions[0] if versions else None)
    form = ScopeForm(request.POST or None, initial=ScopeForm.initial_from(shown) if shown else None)
    if request.method == "POST":
        access.require(BankAction.MANAGE_CATALOG)
        if form.is_valid():
            try:
                version = services.scope_update(scope=scope, actor=access.user, **form.service_values())
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                messages.success(
                    request,
                    f"Draft version {version.number} of {scope.code} is saved. Publish it to show it to people.",
                )
                return redirect("partners:scope", slug=slug, code=scope.code)
    history = [{"version": version, "narrowed": _narrowed_lines(version)} for version in versions]
    purposes = dict(Purpose.choices)
    return render(
        request,
        "partners/bank/scope_detail.html",
        access.context(
            "scopes",
            scope=scope,
            history=history,
            draft=draft,
            shown=shown,
            shown_purposes=[purposes.get(p, p) for p in shown.purposes] if shown else [],
            editable=editable,
            form=form,
            grant_changes=grant_changes_of_version(version=scope.published_version),
        ),
    )


@member_required
@require_POST
def scope_publish(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    """Publish the scope's draft, or send a high-sensitivity draft to compliance for approval."""
    access = bank_access(request, slug)
    scope = _scope(access, code)
    access.require(BankAction.MANAGE_CATALOG)
    try:
        version = services.scope_publish(scope=scope, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if version.status == DataScopeVersion.Status.PUBLISHED:
            messages.success(request, f"Version {version.number} of {scope.code} is published: people see it now.")
        else:
            messages.success(
                request,
                f"Version {version.number} of {scope.code} is waiting for compliance approval. "
                "High-sensitivity scopes are checked before people see them; we publish it once approved.",
            )
    return redirect("partners:scope", slug=slug, code=scope.code)


@member_required
@require_POST
def scope_retire(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    """Retire a scope: nobody can grant it any more."""
    access = bank_access(request, slug)
    scope = _scope(access, code)
    access.require(BankAction.MANAGE_CATALOG)
    try:
        services.scope_retire(scope=scope, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{scope.code} is retired. Nobody can grant it any more.")
    return redirect("partners:scope", slug=slug, code=scope.code)
