"""Who may open every route: the declared matrix the access test checks against the resolver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

ANONYMOUS = "anonymous"
USER_A, USER_B = "user_a", "user_b"
BANK_A, BANK_B = "bank_a", "bank_b"  # a manager of each bank; bank A's persona also holds its API key
DEVELOPER_A, CONTACT_A = "developer_a", "compliance_contact_a"  # bank A's other roles, people only
STAFF, COMPLIANCE = "staff", "compliance"
PERSONAS = (ANONYMOUS, USER_A, USER_B, BANK_A, DEVELOPER_A, CONTACT_A, BANK_B, STAFF, COMPLIANCE)
SIGNED_IN = frozenset(PERSONAS) - {ANONYMOUS}
EVERYONE = frozenset(PERSONAS)
# Bank A's people by what `partners.policy` lets their role do: every member reads the bank's
# pages; managers and developers change the catalog, keys and webhooks and replay dead letters;
# only managers manage people and accept terms. The compliance contact only reads.
BANK_A_READERS = frozenset({BANK_A, DEVELOPER_A, CONTACT_A})
BANK_A_WRITERS = frozenset({BANK_A, DEVELOPER_A})
BANK_A_MANAGERS = frozenset({BANK_A})
BANK_A_ROLES = BANK_A_READERS
BANK_A_TRAIL_READERS = frozenset({BANK_A, CONTACT_A})  # the bank's slice of the audit trail


@dataclass(frozen=True)
class Rule:
    """Who reaches a route; everyone else must be refused (401, 403, 404 or sent to sign in)."""

    allowed: frozenset[str]
    method: str = "get"
    # Built again for each persona, so a route that consumes its object (delete, remove) gets a fresh one.
    kwargs: Callable[[Any], dict[str, Any]] = field(default=lambda world: {})
    api: bool = False  # banks call with their API key; people's sessions do not count
    url: Callable[[Any], str] | None = None  # for patterns `reverse` cannot build
    # Admin model pages bounce to the admin index ("no such object") instead of saying 403.
    index_bounce_refuses: bool = False


def _admin_kwargs(world: Any) -> dict[str, Any]:
    return {
        "app_label": "portal",
        "object_id": str(world.users[USER_A].pk),
        "content_type_id": str(world.user_content_type_id),
        "id": str(world.users[USER_A].pk),
    }


def _admin_object_kwargs(app_label: str, model_name: str) -> Callable[[Any], dict[str, Any]]:
    """Return kwargs naming a real object of the model, so pages answer for it, not "no such object"."""

    def kwargs(world: Any) -> dict[str, Any]:
        from django.apps import apps

        model = apps.get_model(app_label, model_name)
        first = model._default_manager.order_by("pk").first()
        return {**_admin_kwargs(world), "object_id": str(first.pk if first else 0), "id": str(first.pk if first else 0)}

    return kwargs


def _data_request_kwargs(*, by_the_person: bool, kind: str = "archive") -> Callable[[Any], dict[str, Any]]:
    """Return kwargs naming a fresh data request about user A: their own copy, or one compliance logged."""

    def kwargs(world: Any) -> dict[str, Any]:
        from compliance.data_requests.models import DataRequest

        person = world.users[USER_A]
        by = person if by_the_person else world.users[COMPLIANCE]
        return {"pk": DataRequest.objects.create(user=person, kind=kind, requested_by=by, reason="matrix").pk}

    return kwargs


def _entry_about(partner: Any) -> int:
    """Return the id of the oldest audit entry about `partner` (the world's making of it writes some)."""
    from compliance.models import AuditEntry

    return AuditEntry.objects.filter(partner_id=partner.pk).order_by("pk").values_list("pk", flat=True)[0]


def _verification_run() -> int:
    """Return the id of a verification run (one waiting for a worker is enough to show)."""
    from compliance.models import VerificationRun

    return VerificationRun.objects.get_or_create(pk=1)[0].pk


# Keyed by the route's qualified name; "admin:*" covers every admin page.
MATRIX: dict[str, Rule] = {
    "site-index": Rule(EVERYONE),
    "home": Rule(SIGNED_IN),
    "sign-up": Rule(EVERYONE),
    "sign-up-sent": Rule(EVERYONE),
    # A sign-up link: the page answers anyone (it says whether the link still works); the token decides.
    "sign-up-confirm": Rule(EVERYONE, kwargs=lambda world: {"uidb64": "MQ", "token": "confirm"}),
    "login": Rule(EVERYONE),
    "logout": Rule(EVERYONE, method="post"),
    "password_change": Rule(SIGNED_IN),
    "password_change_done": Rule(SIGNED_IN),
    "password_reset": Rule(EVERYONE),
    "password_reset_done": Rule(EVERYONE),
    "password_reset_confirm": Rule(EVERYONE, kwargs=lambda world: {"uidb64": "MQ", "token": "set-password"}),
    "password_reset_complete": Rule(EVERYONE),
    "healthz": Rule(EVERYONE),
    "favicon": Rule(EVERYONE),
    "support:lookup": Rule(frozenset({STAFF})),
    # The second factor: everyone signed in reaches their own; only end users may turn theirs off.
    "second_factor:verify": Rule(SIGNED_IN),
    "second_factor:set-up": Rule(SIGNED_IN),
    "second_factor:recovery-codes": Rule(SIGNED_IN),
    "second_factor:security": Rule(SIGNED_IN),
    "second_factor:regenerate": Rule(SIGNED_IN, method="post"),
    "second_factor:remove": Rule(frozenset({USER_A, USER_B}), method="post"),
    # Sessions: everyone signed in lists and ends their own; a session of user A is only user A's to end.
    "sessions:list": Rule(SIGNED_IN),
    "sessions:end-others": Rule(SIGNED_IN, method="post"),
    "sessions:end": Rule(frozenset({USER_A}), method="post", kwargs=lambda world: {"pk": world.fresh_session_a().pk}),
    "consent:dashboard": Rule(SIGNED_IN),
    # --- partners: bank pages -----------------------------------------------------------------
    "partners:members": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:member-remove": Rule(
        BANK_A_MANAGERS,
        method="post",
        kwargs=lambda world: {"slug": world.bank_a.slug, "pk": world.fresh_member_a().pk},
    ),
    "partners:invitation-revoke": Rule(
        BANK_A_MANAGERS,
        method="post",
        kwargs=lambda world: {"slug": world.bank_a.slug, "pk": world.fresh_invitation_a().pk},
    ),
    "partners:scopes": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:scope-new": Rule(BANK_A_WRITERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:scope": Rule(
        BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug, "code": world.scope_a.code}
    ),
    "partners:scope-publish": Rule(
        BANK_A_WRITERS, method="post", kwargs=lambda world: {"slug": world.bank_a.slug, "code": world.scope_a.code}
    ),
    "partners:scope-retire": Rule(
        BANK_A_WRITERS, method="post", kwargs=lambda world: {"slug": world.bank_a.slug, "code": world.scope_a.code}
    ),
    "partners:capabilities": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:capability-new": Rule(BANK_A_WRITERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:capability": Rule(
        BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug, "code": world.capability_a.code}
    ),
    "partners:terms": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:keys": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:key-revoke": Rule(
        BANK_A_WRITERS, method="post", kwargs=lambda world: {"slug": world.bank_a.slug, "pk": world.key_a.pk}
    ),
    "partners:key-rotate": Rule(
        BANK_A_WRITERS, method="post", kwargs=lambda world: {"slug": world.bank_a.slug, "pk": world.key_a.pk}
    ),
    "partners:webhooks": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:webhook-switch": Rule(
        BANK_A_WRITERS, method="post", kwargs=lambda world: {"slug": world.bank_a.slug, "pk": world.endpoint_a.pk}
    ),
    "partners:webhook-rotate-secret": Rule(
        BANK_A_WRITERS, method="post", kwargs=lambda world: {"slug": world.bank_a.slug, "pk": world.endpoint_a.pk}
    ),
    "partners:webhook-delete": Rule(
        BANK_A_WRITERS,
        method="post",
        kwargs=lambda world: {"slug": world.bank_a.slug, "pk": world.fresh_endpoint_a().pk},
    ),
    "partners:home": Rule(BANK_A_ROLES | {BANK_B}),
    "partners:detail": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    # --- partners: onboarding (public) and staff pages ----------------------------------------
    "partners:apply": Rule(EVERYONE),
    "partners:apply-sent": Rule(EVERYONE),
    # Anyone holding the link may look at the invitation; only the invited address may accept it.
    "partners:invitation": Rule(EVERYONE, kwargs=lambda world: {"token": world.invitation_token_a}),
    "partners:staff-detail": Rule(frozenset({STAFF}), kwargs=lambda world: {"slug": world.bank_a.slug}),
    "partners:staff-terms": Rule(frozenset({STAFF})),
    "partners:staff-terms-new": Rule(frozenset({STAFF})),
    "partners:staff-home": Rule(frozenset({STAFF})),
    # --- consent ----------------------------------------------------------------------------------
    "consent:banks": Rule(SIGNED_IN),
    # Bank B is in the sandbox: only its own members (its test users) may link it.
    "consent:link-start": Rule(frozenset({BANK_B}), method="post", kwargs=lambda world: {"slug": world.bank_b.slug}),
    # Without a state every signed-in person gets a clear 400 page; nobody else gets anything.
    "consent:link-callback": Rule(SIGNED_IN),
    "consent:consent-screen": Rule(frozenset({USER_A}), kwargs=lambda world: {"link_id": world.link_a.pk}),
    # Withdrawals and unlinking answer GET with their confirmation step; the POST that acts confirms.
    "consent:bank-revoke-all": Rule(frozenset({USER_A}), kwargs=lambda world: {"slug": world.link_a.partner.slug}),
    "consent:link-unlink": Rule(frozenset({USER_A}), kwargs=lambda world: {"link_id": world.link_a.pk}),
    "consent:revoke-everything": Rule(SIGNED_IN),
    # With nothing to undo a person is sent back to their dashboard with a sentence; it acts on their own only.
    "consent:undo-withdrawal": Rule(SIGNED_IN, method="post"),
    "consent:grant-detail": Rule(frozenset({USER_A}), kwargs=lambda world: {"grant_id": world.grant_a.pk}),
    "consent:grant-revoke": Rule(frozenset({USER_A}), kwargs=lambda world: {"grant_id": world.grant_a.pk}),
    "consent:grant-renew": Rule(frozenset({USER_A}), kwargs=lambda world: {"grant_id": world.grant_a.pk}),
    "consent:grant-narrow": Rule(
        frozenset({USER_A}), method="post", kwargs=lambda world: {"grant_id": world.grant_a.pk}
    ),
    "consent:receipt": Rule(frozenset({USER_A}), kwargs=lambda world: {"public_id": world.receipt_a.public_id}),
    "consent:receipt-download": Rule(
        frozenset({USER_A}), kwargs=lambda world: {"public_id": world.receipt_a.public_id}
    ),
    "consent:history": Rule(SIGNED_IN),
    # The simulator plays a bank: its page answers every signed-in person (400 without a valid request),
    # and its token endpoint answers anyone (400 without a code); both are 404 without demo features.
    "consent:simulator-authorize": Rule(SIGNED_IN, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "consent:simulator-token": Rule(EVERYONE, method="post", kwargs=lambda world: {"slug": world.bank_a.slug}),
    "api-consents": Rule(frozenset({BANK_A, BANK_B}), api=True),
    "api-consent": Rule(frozenset({BANK_A}), api=True, kwargs=lambda world: {"pk": world.grant_a.pk}),
    # An active grant answers 409 consent_active to its bank, 404 to any other.
    "api-consent-deletion-attestation": Rule(
        frozenset({BANK_A}), api=True, method="post", kwargs=lambda world: {"pk": world.grant_a.pk}
    ),
    # --- delivery ---------------------------------------------------------------------------------
    "delivery:inbox": Rule(SIGNED_IN),
    "delivery:inbox-poll": Rule(SIGNED_IN),
    "delivery:inbox-read": Rule(SIGNED_IN, method="post"),
    # A person's conversation with a bank where they have an account linked: user A at bank A.
    "delivery:conversation": Rule(frozenset({USER_A}), kwargs=lambda world: {"slug": world.bank_a.slug}),
    "delivery:conversation-poll": Rule(frozenset({USER_A}), kwargs=lambda world: {"slug": world.bank_a.slug}),
    # An empty message (400 "write a message") or nothing ticked (400) is an answer, not a refusal.
    "delivery:conversation-send": Rule(
        frozenset({USER_A}), method="post", kwargs=lambda world: {"slug": world.bank_a.slug}
    ),
    "delivery:conversation-allow": Rule(
        frozenset({USER_A}), method="post", kwargs=lambda world: {"slug": world.bank_a.slug}
    ),
    "delivery:conversation-end": Rule(
        frozenset({USER_A}), method="post", kwargs=lambda world: {"slug": world.bank_a.slug}
    ),
    # User A's fraud alert: only they may answer it (an empty answer sends them back to the inbox).
    "delivery:fraud-alert-answer": Rule(
        frozenset({USER_A}), method="post", kwargs=lambda world: {"pk": world.fraud_alert_a().pk}
    ),
    "delivery:bank-deliveries": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "delivery:bank-replay": Rule(BANK_A_WRITERS, method="post", kwargs=lambda world: {"slug": world.bank_a.slug}),
    "delivery:staff-deliveries": Rule(frozenset({STAFF})),
    "delivery:staff-replay": Rule(frozenset({STAFF}), method="post"),
    # An empty body answers 400 `invalid` to a bank (it may post), 401 to everyone else.
    "api-events": Rule(frozenset({BANK_A, BANK_B}), api=True, method="post"),
    "api-event": Rule(frozenset({BANK_A}), api=True, kwargs=lambda world: {"pk": world.event_a.pk}),
    "api-webhook-endpoint-replay": Rule(
        frozenset({BANK_A}), api=True, method="post", kwargs=lambda world: {"pk": world.endpoint_a.pk}
    ),
    # --- compliance -------------------------------------------------------------------------------
    "compliance:scope-reviews": Rule(frozenset({COMPLIANCE})),
    "compliance:grant-changes": Rule(frozenset({COMPLIANCE})),
    "compliance:home": Rule(frozenset({COMPLIANCE})),
    "compliance:verify": Rule(frozenset({COMPLIANCE}), method="post"),
    # Data requests compliance logs: compliance staff only; a person never reaches them, not even their own.
    "compliance:data-requests": Rule(frozenset({COMPLIANCE})),
    "compliance:data-request": Rule(frozenset({COMPLIANCE}), kwargs=_data_request_kwargs(by_the_person=False)),
    "compliance:data-request-status": Rule(frozenset({COMPLIANCE}), kwargs=_data_request_kwargs(by_the_person=False)),
    # Not built yet: 409 to compliance (it may download once ready), refused to everyone else.
    "compliance:data-request-download": Rule(frozenset({COMPLIANCE}), kwargs=_data_request_kwargs(by_the_person=False)),
    # Without the confirmation ticked: 400 to compliance, refused to everyone else.
    "compliance:data-request-erase": Rule(
        frozenset({COMPLIANCE}), method="post", kwargs=_data_request_kwargs(by_the_person=False, kind="erasure")
    ),
    # A person's own copy of their data: every signed-in person has theirs; user A's copy is user A's alone.
    "my-data:home": Rule(SIGNED_IN),
    "my-data:start": Rule(SIGNED_IN, method="post"),
    "my-data:request": Rule(frozenset({USER_A}), kwargs=_data_request_kwargs(by_the_person=True)),
    "my-data:status": Rule(frozenset({USER_A}), kwargs=_data_request_kwargs(by_the_person=True)),
    "my-data:download": Rule(frozenset({USER_A}), kwargs=_data_request_kwargs(by_the_person=True)),
    "compliance:export": Rule(frozenset({COMPLIANCE})),
    "compliance:entry": Rule(frozenset({COMPLIANCE}), kwargs=lambda world: {"pk": _entry_about(world.bank_a)}),
    "compliance:verification": Rule(frozenset({COMPLIANCE}), kwargs=lambda world: {"pk": _verification_run()}),
    "compliance:verification-status": Rule(frozenset({COMPLIANCE}), kwargs=lambda world: {"pk": _verification_run()}),
    # A bank's slice of the trail: its compliance contact and managers (a developer gets 403 for their role).
    "bank_trail:trail": Rule(BANK_A_TRAIL_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "bank_trail:export": Rule(BANK_A_TRAIL_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "bank_trail:entry": Rule(
        BANK_A_TRAIL_READERS, kwargs=lambda world: {"slug": world.bank_a.slug, "pk": _entry_about(world.bank_a)}
    ),
    # Reports: compliance staff read every bank's; the chase without a bank answers with a message.
    "compliance:reports": Rule(frozenset({COMPLIANCE})),
    "compliance:report": Rule(frozenset({COMPLIANCE}), kwargs=lambda world: {"slug": "dead-letters"}),
    "compliance:report-csv": Rule(frozenset({COMPLIANCE}), kwargs=lambda world: {"slug": "dead-letters"}),
    "compliance:report-chase": Rule(frozenset({COMPLIANCE}), method="post"),
    # A bank's own figures and reports: every one of its people (the compliance contact too), read-only.
    "bank_reports:figures": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "bank_reports:figures-csv": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "bank_reports:index": Rule(BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug}),
    "bank_reports:report": Rule(
        BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug, "report": "consent-activity"}
    ),
    "bank_reports:report-csv": Rule(
        BANK_A_READERS, kwargs=lambda world: {"slug": world.bank_a.slug, "report": "consent-activity"}
    ),
    "api-partner": Rule(frozenset({BANK_A, BANK_B}), api=True),
    "api-scopes": Rule(frozenset({BANK_A, BANK_B}), api=True),
    "api-scope": Rule(frozenset({BANK_A}), api=True, kwargs=lambda world: {"code": world.scope_a.code}),
    "api-capabilities": Rule(frozenset({BANK_A, BANK_B}), api=True),
    "api-capability": Rule(frozenset({BANK_A}), api=True, kwargs=lambda world: {"code": world.capability_a.code}),
    "api-webhook-endpoints": Rule(frozenset({BANK_A, BANK_B}), api=True),
    "api-webhook-endpoint": Rule(frozenset({BANK_A}), api=True, kwargs=lambda world: {"pk": world.endpoint_a.pk}),
    "api-webhook-endpoint-rotate-secret": Rule(
        frozenset({BANK_A}), api=True, method="post", kwargs=lambda world: {"pk": world.endpoint_a.pk}
    ),
    "api-schema": Rule(EVERYONE),
    "api-docs": Rule(EVERYONE),
    # Django's admin: platform staff only, and within it only what their group's permissions open.
    "admin:index": Rule(frozenset({STAFF})),
    "admin:login": Rule(EVERYONE),
    "admin:logout": Rule(EVERYONE, method="post"),
    "admin:password_change": Rule(frozenset({STAFF})),
    "admin:password_change_done": Rule(frozenset({STAFF})),
    "admin:jsi18n": Rule(frozenset({STAFF})),
    "admin:app_list": Rule(frozenset({STAFF}), kwargs=_admin_kwargs),
    # No admin declares autocomplete fields, and no model has a public page: nobody reaches these.
    "admin:autocomplete": Rule(frozenset()),
    "admin:view_on_site": Rule(frozenset(), kwargs=_admin_kwargs),
    "admin:<unnamed admin/(?P<url>.*)$>": Rule(frozenset(), url=lambda world: "/admin/no-such-page/"),
}

# Admin model pages platform staff may read (not add, not delete): `<app>_<model>` of each.
STAFF_READS_IN_ADMIN = frozenset(
    {
        "portal_user",
        "portal_workerheartbeat",
        "partners_partner",
        "partners_partnerapikey",
        "compliance_auditentry",
        "partners_datascope",
        "partners_chatbotcapability",
        "partners_usageterms",
        "partners_termsacceptance",
        "partners_invitation",
        "partners_webhookendpoint",
        # The lockout's records (django-axes): read, and lifted by an audited action.
        "axes_accessattempt",
        "axes_accesslog",
    }
)
ADMIN_READ_PAGES = ("changelist", "change", "history")


def _admin_model_rule(route: Route) -> Rule | None:
    """Return the rule of an admin model page (`admin/<app>/<model>/...`), or None."""
    parts = route.pattern.split("/")
    if len(parts) < 4 or parts[0] != "admin":
        return None
    app_label, model_name = parts[1], parts[2]
    kwargs = _admin_object_kwargs(app_label, model_name)
    if route.name.startswith("admin:<unnamed "):
        # `<path:object_id>/` only redirects to the change page, which then decides.
        return Rule(frozenset({STAFF}), kwargs=kwargs, index_bounce_refuses=True)
    page = route.name.rpartition("_")[2]
    model_key = route.name.removeprefix("admin:").removesuffix(f"_{page}")
    allowed = frozenset({STAFF}) if model_key in STAFF_READS_IN_ADMIN and page in ADMIN_READ_PAGES else frozenset()
    return Rule(allowed, kwargs=kwargs, index_bounce_refuses=True)


@dataclass(frozen=True)
class Route:
    """One URL pattern found in the resolver."""

    name: str
    pattern: str
    converters: tuple[str, ...]


def iter_routes(resolver: URLResolver | None = None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    """Yield every URL pattern in the project, with its namespace-qualified name."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner_ns = namespace
            if entry.namespace:
                inner_ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from iter_routes(entry, prefix + str(entry.pattern), inner_ns)
        elif isinstance(entry, URLPattern):
            name = entry.name or f"<unnamed {prefix}{entry.pattern}>"
            qualified = f"{namespace}:{name}" if namespace else name
            converters = tuple(entry.pattern.regex.groupindex)
            yield Route(qualified, prefix + str(entry.pattern), converters)


def rule_for(route: Route) -> Rule | None:
    """Return the declared rule for a route, or None when nobody classified it."""
    if route.name in MATRIX:
        return MATRIX[route.name]
    if route.name.startswith("admin:"):
        return _admin_model_rule(route)
    return None


def unclassified_routes() -> list[Route]:
    """Return every route the matrix does not classify."""
    return [route for route in iter_routes() if rule_for(route) is None]
