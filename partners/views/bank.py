"""Pages for bank members: their bank's home and everything they manage there.

Every page is for members of the bank in the address only (others get 404). Reading is for every
member; changing the catalog, keys and webhooks needs `manage_partner` (managers and developers),
and inviting, removing and accepting terms need `manage_members` (managers). Each change is one
service call; a refusal from the service shows on the form or as a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError, show_on_form
from portal.forms import sent_before
from portal.models import User
from portal.requests import client_ip, user_agent
from portal.roles import role_required

from .. import services
from ..forms import (
    ApiKeyForm,
    CapabilityCreateForm,
    CapabilityForm,
    InvitationForm,
    ScopeCreateForm,
    ScopeForm,
    TermsAcceptanceForm,
    WebhookEndpointForm,
    WebhookSwitchForm,
)
from ..models import DataScopeVersion, MessageType, Partner, PartnerApiKey, Purpose, WebhookEndpoint
from ..permissions import MANAGE, MANAGE_MEMBERS
from ..selectors import (
    TermsStatus,
    api_key_for_partner,
    api_keys_for_partner,
    capabilities_for_partner,
    capability_for_partner,
    invitation_for_partner,
    invitations_pending_for_partner,
    managers_of_partner,
    membership_for_partner,
    memberships_for_partner,
    partner_for_member,
    partner_home_for_user,
    partner_terms_status,
    partners_for_user,
    published_scopes_for_partner,
    scope_for_partner,
    scopes_for_partner,
    usage_terms_version,
    webhook_endpoint_for_partner,
    webhook_endpoints_for_partner,
)
from ..terms_text import render_terms, terms_diff

member_required = role_required(User.Role.PARTNER_MEMBER)


@dataclass(frozen=True)
class BankAccess:
    """The bank in the address, and what the signed-in member may do there."""

    partner: Partner
    user: User
    can_manage: bool  # the catalog, keys and webhooks
    can_manage_members: bool  # people and usage terms: managers only

    def require_manage(self) -> None:
        """Refuse (403) a member who may only read the catalog, keys and webhooks."""
        if not self.can_manage:
            raise PermissionDenied("Only the bank's managers and developers can change this.")

    def require_manager(self) -> None:
        """Refuse (403) a member who is not one of the bank's managers."""
        if not self.can_manage_members:
            raise PermissionDenied("Only the bank's managers can do this.")

    def context(self, section: str, **extra: Any) -> dict[str, Any]:
        """Return the template context every bank page shares, with `extra`."""
        return {
            "partner": self.partner,
            "section": section,
            "can_manage": self.can_manage,
            "can_manage_members": self.can_manage_members,
            **extra,
        }


def _access(request: HttpRequest, slug: str) -> BankAccess:
    """Return the member's access to bank `slug`, or raise 404 when they are not one of its members."""
    user = request.user
    assert isinstance(user, User)
    partner = partner_for_member(user=user, slug=slug)
    if partner is None:
        raise Http404("No such bank among yours.")
    return BankAccess(partner, user, user.has_perm(MANAGE, partner), user.has_perm(MANAGE_MEMBERS, partner))


RESENT = (
    "That form was already sent, so nothing new was made: a secret is shown only once. "
    "If it was not copied, rotate it to get a new one."
)


def _already_sent(request: HttpRequest, slug: str, page: str) -> HttpResponse | None:
    """Return a redirect to `page` that says why, when this form was sent before (a reloaded secret page)."""
    if not sent_before(request):
        return None
    messages.info(request, RESENT)
    return redirect(page, slug=slug)


def _secret_once(request: HttpRequest, access: BankAccess, section: str, **context: Any) -> HttpResponse:
    """Show a new secret in this response only: never stored, never cached, never in a message."""
    response = render(request, "partners/bank/secret_once.html", access.context(section, **context))
    add_never_cache_headers(response)
    return response


# --- Home -------------------------------------------------------------------------------------------

# Where each step of the go-live checklist is done, and what the button says.
CHECKLIST_PAGES = {
    "terms": ("partners:terms", "Read and accept the usage terms"),
    "scopes": ("partners:scopes", "Declare a scope"),
    "capabilities": ("partners:capabilities", "Describe a capability"),
    "keys": ("partners:keys", "Create an API key"),
    "webhooks": ("partners:webhooks", "Add a webhook endpoint"),
}


@member_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a member to their bank's page, or let them choose when they belong to several."""
    assert isinstance(request.user, User)
    partners = list(partners_for_user(user=request.user))
    if len(partners) == 1:
        return redirect("partners:detail", slug=partners[0].slug)
    return render(request, "partners/choose.html", {"partners": partners})


@member_required
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a bank's home: status and next step first, then terms, catalog, keys, webhooks, members."""
    assert isinstance(request.user, User)
    context = partner_home_for_user(user=request.user, slug=slug)
    if context is None:
        raise Http404("No such bank among yours.")
    access = _access(request, slug)
    checklist = context["checklist"]
    assert isinstance(checklist, list)
    steps = []
    for item in checklist:
        url_name, action = CHECKLIST_PAGES.get(item.step, ("", ""))
        steps.append(
            {"item": item, "url": reverse(url_name, kwargs={"slug": slug}) if url_name else "", "action": action}
        )
    terms = context["terms"]
    assert isinstance(terms, TermsStatus)
    # With no terms published there is nothing to accept yet, so the next step is the one after.
    actionable = [s for s in steps if not (s["item"].step == "terms" and terms.state == "no_terms")]
    next_step = next((step for step in actionable if not step["item"].done), None)
    return render(
        request,
        "partners/detail.html",
        access.context(
            "overview",
            **context,
            steps=steps,
            next_item=next_step["item"] if next_step else None,
            next_url=next_step["url"] if next_step else "",
            next_action=next_step["action"] if next_step else "",
        ),
    )


# --- Members and invitations --------------------------------------------------------------------


@member_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's members and pending invitations; managers invite people here."""
    access = _access(request, slug)
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        access.require_manager()
        if form.is_valid():
            try:
                invitation, _token = services.invitation_create(
                    partner=access.partner,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    actor=access.user,
                )
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                messages.success(request, f"We emailed an invitation to {invitation.email}. It works once, for 7 days.")
                return redirect("partners:members", slug=slug)
    return render(
        request,
        "partners/bank/members.html",
        access.context(
            "members",
            memberships=list(memberships_for_partner(partner=access.partner)),
            invitations=list(invitations_pending_for_partner(partner=access.partner)),
            form=form,
        ),
    )


@member_required
@require_POST
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Remove a member from the bank (managers only); the bank keeps at least one manager."""
    access = _access(request, slug)
    membership = membership_for_partner(partner=access.partner, pk=pk)
    if membership is None:
        raise Http404("No such member.")
    access.require_manager()
    try:
        services.partner_member_remove(membership=membership, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("partners:members", slug=slug)
    if membership.user_id == access.user.pk:
        messages.success(request, f"You are no longer a member of {access.partner}.")
        return redirect("home")
    messages.success(request, f"{membership.user.email} is no longer a member of {access.partner}.")
    return redirect("partners:members", slug=slug)


@member_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Withdraw a pending invitation (managers only): its link stops working at once."""
    access = _access(request, slug)
    invitation = invitation_for_partner(partner=access.partner, pk=pk)
    if invitation is None:
        raise Http404("No such invitation.")
    access.require_manager()
    try:
        services.invitation_revoke(invitation=invitation, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The invitation to {invitation.email} is withdrawn. Its link no longer works.")
    return redirect("partners:members", slug=slug)


# --- Scopes -------------------------------------------------------------------------------------------


@member_required
def scopes(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's scopes: code, the wording people see, and where each one stands."""
    access = _access(request, slug)
    rows = []
    for scope in scopes_for_partner(partner=access.partner):
        versions = list(scope.versions.all())
        rows.append({"scope": scope, "latest": versions[0] if versions else None, "published": scope.published_version})
    return render(request, "partners/bank/scopes.html", access.context("scopes", rows=rows))


@member_required
@require_http_methods(["GET", "POST"])
def scope_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Declare a new scope; it starts as a draft that the bank publishes when it is ready."""
    access = _access(request, slug)
    access.require_manage()
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
    access = _access(request, slug)
    scope = scope_for_partner(partner=access.partner, code=code)
    if scope is None:
        raise Http404("No such scope.")
    versions = list(scope.versions.all())
    draft = _open_version(versions)
    editable = scope.retired_at is None
    shown = draft or scope.published_version or (versions[0] if versions else None)
    form = ScopeForm(request.POST or None, initial=ScopeForm.initial_from(shown) if shown else None)
    if request.method == "POST":
        access.require_manage()
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
        ),
    )


@member_required
@require_POST
def scope_publish(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    """Publish the scope's draft, or send a high-sensitivity draft to compliance for approval."""
    access = _access(request, slug)
    scope = scope_for_partner(partner=access.partner, code=code)
    if scope is None:
        raise Http404("No such scope.")
    access.require_manage()
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
    access = _access(request, slug)
    scope = scope_for_partner(partner=access.partner, code=code)
    if scope is None:
        raise Http404("No such scope.")
    access.require_manage()
    try:
        services.scope_retire(scope=scope, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{scope.code} is retired. Nobody can grant it any more.")
    return redirect("partners:scope", slug=slug, code=scope.code)


# --- Chatbot capabilities ------------------------------------------------------------------------------


@member_required
def capabilities(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's chatbot capabilities with the scopes they need."""
    access = _access(request, slug)
    rows = [
        {"capability": capability, "message_types": _message_type_labels(capability.message_types)}
        for capability in capabilities_for_partner(partner=access.partner)
    ]
    return render(request, "partners/bank/capabilities.html", access.context("capabilities", rows=rows))


def _message_type_labels(message_types: list[str]) -> list[str]:
    labels = dict(MessageType.choices)
    return [labels.get(message_type, message_type) for message_type in message_types]


@member_required
@require_http_methods(["GET", "POST"])
def capability_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Declare a chatbot capability that uses the bank's published scopes."""
    access = _access(request, slug)
    access.require_manage()
    published = list(published_scopes_for_partner(partner=access.partner))
    form = CapabilityCreateForm(request.POST or None, scopes=published)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        try:
            services.capability_create(partner=access.partner, code=code, actor=access.user, **form.service_values())
        except (ApplicationError, ValidationError) as error:
            show_on_form(form, error)
        else:
            messages.success(request, f"The capability {code} is saved.")
            return redirect("partners:capability", slug=slug, code=code)
    return render(
        request, "partners/bank/capability_new.html", access.context("capabilities", form=form, published=published)
    )


@member_required
@require_http_methods(["GET", "POST"])
def capability_detail(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    """Show a chatbot capability; managers and developers change it here."""
    access = _access(request, slug)
    capability = capability_for_partner(partner=access.partner, code=code)
    if capability is None:
        raise Http404("No such capability.")
    published = list(published_scopes_for_partner(partner=access.partner))
    form = CapabilityForm(request.POST or None, scopes=published, initial=CapabilityForm.initial_from(capability))
    if request.method == "POST":
        access.require_manage()
        if form.is_valid():
            try:
                services.capability_update(capability=capability, actor=access.user, **form.service_values())
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                messages.success(request, f"The capability {capability.code} is saved.")
                return redirect("partners:capability", slug=slug, code=capability.code)
    return render(
        request,
        "partners/bank/capability_detail.html",
        access.context(
            "capabilities",
            capability=capability,
            message_types=_message_type_labels(capability.message_types),
            form=form,
            published=published,
        ),
    )


# --- Usage terms --------------------------------------------------------------------------------------


@member_required
@require_http_methods(["GET", "POST"])
def terms(request: HttpRequest, slug: str) -> HttpResponse:
    """Show the current usage terms, what changed since the bank accepted, and let a manager accept them."""
    access = _access(request, slug)
    status = partner_terms_status(partner=access.partner)
    current = status.current
    form = TermsAcceptanceForm(
        request.POST or None,
        initial={"version": current.version if current else None},
        partner_name=access.partner.legal_name,
    )
    if request.method == "POST":
        access.require_manager()
        if form.is_valid():
            accepted_terms = usage_terms_version(version=form.cleaned_data["version"])
            try:
                if accepted_terms is None:
                    raise ApplicationError("These terms do not exist. Reload the page and read the current version.")
                services.terms_accept(
                    partner=access.partner,
                    terms=accepted_terms,
                    user=access.user,
                    ip=client_ip(request),
                    user_agent=user_agent(request),
                )
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                messages.success(
                    request, f"You accepted version {accepted_terms.version} of the usage terms for {access.partner}."
                )
                return redirect("partners:terms", slug=slug)
    changes = None
    if current is not None and status.accepted is not None and status.accepted.terms_id != current.pk:
        changes = terms_diff(status.accepted.terms.body, current.body)
    return render(
        request,
        "partners/bank/terms.html",
        access.context(
            "terms",
            status=status,
            current=current,
            body_html=render_terms(current.body) if current else "",
            changes=changes,
            managers=list(managers_of_partner(partner=access.partner)),
            form=form,
        ),
    )


# --- API keys -----------------------------------------------------------------------------------------


def _key(access: BankAccess, pk: int) -> PartnerApiKey:
    key = api_key_for_partner(partner=access.partner, pk=pk)
    if key is None:
        raise Http404("No such key.")
    return key


@member_required
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's API keys; managers and developers create one here and see it once."""
    access = _access(request, slug)
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST":
        access.require_manage()
        if (resent := _already_sent(request, slug, "partners:keys")) is not None:
            return resent
        if form.is_valid():
            try:
                key, raw_key = services.partner_api_key_create(
                    partner=access.partner,
                    name=form.cleaned_data["name"],
                    environment=form.cleaned_data["environment"],
                    actor=access.user,
                )
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                return _secret_once(request, access, "keys", kind="key", key=key, secret=raw_key)
    return render(
        request,
        "partners/bank/keys.html",
        access.context("keys", keys=list(api_keys_for_partner(partner=access.partner)), form=form),
    )


@member_required
@require_POST
def key_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Revoke an API key at once."""
    access = _access(request, slug)
    key = _key(access, pk)
    access.require_manage()
    services.partner_api_key_revoke(key=key, actor=access.user)
    messages.success(request, f"The key “{key.name}” ({key.masked}) is revoked. Requests with it fail from now on.")
    return redirect("partners:keys", slug=slug)


@member_required
@require_POST
def key_rotate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Replace an API key: show the new one once; the old one works for 24 more hours."""
    access = _access(request, slug)
    key = _key(access, pk)
    access.require_manage()
    if (resent := _already_sent(request, slug, "partners:keys")) is not None:
        return resent
    try:
        new_key, raw_key = services.partner_api_key_rotate(key=key, actor=access.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("partners:keys", slug=slug)
    key.refresh_from_db(fields=["expires_at"])
    return _secret_once(request, access, "keys", kind="rotated_key", key=new_key, secret=raw_key, old=key)


# --- Webhook endpoints -----------------------------------------------------------------------------------


def _endpoint(access: BankAccess, pk: int) -> WebhookEndpoint:
    endpoint = webhook_endpoint_for_partner(partner=access.partner, pk=pk)
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


@member_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    """List the bank's webhook endpoints; managers and developers add one here and see its secret once."""
    access = _access(request, slug)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST":
        access.require_manage()
        if (resent := _already_sent(request, slug, "partners:webhooks")) is not None:
            return resent
        if form.is_valid():
            try:
                endpoint, secret = services.webhook_endpoint_create(
                    partner=access.partner,
                    url=form.cleaned_data["url"].strip(),
                    description=form.cleaned_data["description"],
                    event_types=form.cleaned_data["event_types"],
                    actor=access.user,
                )
            except (ApplicationError, ValidationError) as error:
                show_on_form(form, error)
            else:
                return _secret_once(request, access, "webhooks", kind="webhook", endpoint=endpoint, secret=secret)
    return render(
        request,
        "partners/bank/webhooks.html",
        access.context("webhooks", endpoints=list(webhook_endpoints_for_partner(partner=access.partner)), form=form),
    )


@member_required
@require_POST
def webhook_switch(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Switch a webhook endpoint on or off."""
    access = _access(request, slug)
    endpoint = _endpoint(access, pk)
    access.require_manage()
    form = WebhookSwitchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether to switch the endpoint on or off.")
        return redirect("partners:webhooks", slug=slug)
    is_active = form.cleaned_data["is_active"]
    try:
        services.webhook_endpoint_update(endpoint=endpoint, actor=access.user, is_active=is_active)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        state = "on: it receives webhooks again" if is_active else "off: nothing is sent to it until you switch it on"
        messages.success(request, f"{endpoint.url} is switched {state}.")
    return redirect("partners:webhooks", slug=slug)


@member_required
@require_POST
def webhook_rotate_secret(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Give an endpoint a new signing secret and show it once; the old one also signs for 24 hours."""
    access = _access(request, slug)
    endpoint = _endpoint(access, pk)
    access.require_manage()
    if (resent := _already_sent(request, slug, "partners:webhooks")) is not None:
        return resent
    endpoint, secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=access.user)
    return _secret_once(request, access, "webhooks", kind="rotated_webhook", endpoint=endpoint, secret=secret)


@member_required
@require_POST
def webhook_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Delete a webhook endpoint: nothing more is sent to it."""
    access = _access(request, slug)
    endpoint = _endpoint(access, pk)
    access.require_manage()
    url = endpoint.url
    services.webhook_endpoint_delete(endpoint=endpoint, actor=access.user)
    messages.success(request, f"The endpoint {url} is deleted. Nothing more is sent to it.")
    return redirect("partners:webhooks", slug=slug)
