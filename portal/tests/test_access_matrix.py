"""Every route in the resolver, for every persona, against the declared access matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone

from consent.models import AccountLink, ConsentEvent, ConsentGrant
from consent.tests.factories import AccountLinkFactory, ConsentGrantFactory, event_for
from delivery.models import Delivery, InboxMessage, PartnerEvent
from partners.models import (
    ChatbotCapability,
    DataScope,
    Invitation,
    Partner,
    PartnerApiKey,
    PartnerMembership,
    WebhookEndpoint,
)
from partners.services import invitation_create, terms_accept, terms_publish
from partners.tests.factories import (
    PartnerFactory,
    api_key_for,
    capability_for,
    member_of,
    published_scope,
    webhook_endpoint_for,
)
from portal.models import User, UserSession, WorkerHeartbeat
from portal.tests.access_matrix import (
    ANONYMOUS,
    BANK_A,
    BANK_A_ROLES,
    BANK_B,
    COMPLIANCE,
    CONTACT_A,
    DEVELOPER_A,
    PERSONAS,
    STAFF,
    USER_A,
    USER_B,
    Route,
    Rule,
    iter_routes,
    rule_for,
    unclassified_routes,
)
from portal.tests.factories import ComplianceStaffFactory, PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified
from portal.urls import urlpatterns as portal_urlpatterns


@dataclass
class World:
    users: dict[str, User]
    keys: dict[str, str]
    bank_a: Partner
    bank_b: Partner
    user_content_type_id: int
    scope_a: DataScope
    capability_a: ChatbotCapability
    endpoint_a: WebhookEndpoint
    # For the bank pages' actions: bank A's API key (its persona's, revoked and rotated in place).
    key_a: PartnerApiKey
    link_a: AccountLink
    grant_a: ConsentGrant
    receipt_a: ConsentEvent
    invitation_token_a: str = ""  # a pending invitation to bank A, for an address no persona has
    event_a: Any = None  # an event bank A posted for user A

    # Routes that consume their object ask for a fresh one for each persona, so that a refusal is
    # the rule's and never "it is already gone".
    def fresh_member_a(self) -> PartnerMembership:
        """Return a new developer's membership of bank A, for a manager to remove."""
        return self.bank_a.memberships.get(user=member_of(self.bank_a, PartnerMembership.Role.DEVELOPER))

    def fresh_invitation_a(self) -> Invitation:
        """Return a new pending invitation to bank A, for a manager to withdraw."""
        email = f"invited.{Invitation.objects.count()}@example.test"
        return invitation_create(partner=self.bank_a, email=email, role="developer", actor=None)[0]

    def fraud_alert_a(self) -> InboxMessage:
        """Return a fraud alert in user A's inbox from bank A (delivered for bank A's event)."""
        delivery = Delivery.objects.get_or_create(event=self.event_a, channel="inbox", partner=self.bank_a)[0]
        return InboxMessage.objects.get_or_create(
            delivery=delivery,
            defaults={
                "user": self.link_a.user,
                "partner": self.bank_a,
                "type": "fraud_alert",
                "title": "?",
                "body": "?",
            },
        )[0]

    def fresh_endpoint_a(self) -> WebhookEndpoint:
        """Return a new webhook endpoint of bank A, for a writer to delete."""
        return webhook_endpoint_for(self.bank_a)

    def fresh_session_a(self) -> UserSession:
        """Return a new session of user A on another device, for user A to sign out."""
        user = self.users[USER_A]
        sign_in_verified(Client(), user)
        return UserSession.objects.filter(user=user).latest("pk")


@pytest.fixture
def world(db: None) -> World:
    # Bank A is live (its key is live and reaches user A); bank B stays in the sandbox.
    bank_a, bank_b = PartnerFactory(status=Partner.Status.LIVE), PartnerFactory()
    users = {
        USER_A: UserFactory(),
        USER_B: UserFactory(),
        BANK_A: member_of(bank_a),
        DEVELOPER_A: member_of(bank_a, PartnerMembership.Role.DEVELOPER),
        CONTACT_A: member_of(bank_a, PartnerMembership.Role.COMPLIANCE),
        BANK_B: member_of(bank_b),
        STAFF: PlatformStaffFactory(),
        COMPLIANCE: ComplianceStaffFactory(),
    }
    keys = {BANK_A: api_key_for(bank_a), BANK_B: api_key_for(bank_b)}
    published_scope(bank_b, "savings.read")  # something to link bank B for
    WorkerHeartbeat.objects.create(hostname="matrix", last_seen=timezone.now())  # /healthz answers 200
    # One counted failure and one sign-in, so the lockout's admin pages have a row to open.
    AccessAttempt.objects.create(username="someone@example.test", ip_address="192.0.2.1", user_agent="matrix",
                                 get_data="", post_data="", http_accept="*/*", path_info="/accounts/login/",
                                 failures_since_start=1, attempt_time=timezone.now())  # fmt: skip
    AccessLog.objects.create(username="someone@example.test", ip_address="192.0.2.1", user_agent="matrix",
                             http_accept="*/*", path_info="/accounts/login/", attempt_time=timezone.now())  # fmt: skip
    capability_a = capability_for(bank_a)
    # Current terms that bank A accepted, so that the admin's terms pages have a row to show.
    terms = terms_publish(title="Usage terms", body="Be good.", actor=None)
    terms_accept(partner=bank_a, terms=terms, user=users[BANK_A])
    _invitation, invitation_token_a = invitation_create(
        partner=bank_a, email="invited@example.test", role="developer", actor=users[BANK_A]
    )
    # User A's link and grant at bank A, made directly rather than through linking.
    grant_a = ConsentGrantFactory(link=AccountLinkFactory(user=users[USER_A], partner=bank_a))
    return World(
        users,
        keys,
        bank_a,
        bank_b,
        ContentType.objects.get_for_model(User).pk,
        scope_a=bank_a.scopes.get(),
        capability_a=capability_a,
        endpoint_a=webhook_endpoint_for(bank_a),
        key_a=bank_a.api_keys.get(),
        link_a=grant_a.link,
        grant_a=grant_a,
        receipt_a=event_for(grant_a),
        invitation_token_a=invitation_token_a,
        event_a=PartnerEvent.objects.create(
            partner=bank_a, link=grant_a.link, type="receipt", payload={}, idempotency_key="e", request_hash="0"
        ),
    )


def _url(route: Route, world: World) -> str:
    rule = rule_for(route)
    assert rule is not None
    if rule.url is not None:
        return rule.url(world)
    kwargs = rule.kwargs(world)
    wanted = {name: kwargs[name] for name in route.converters if name in kwargs}
    if route.name.startswith("admin:<unnamed"):
        return "/" + route.pattern.replace("<path:object_id>", wanted["object_id"])
    try:
        return reverse(route.name, kwargs=wanted)
    except NoReverseMatch:
        pytest.fail(f"Cannot build a URL for {route.name} ({route.pattern}): give its rule kwargs")


def _refused(response: Any, rule: Rule) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    location = response.headers.get("Location", "")
    bounced = rule.index_bounce_refuses and location == "/admin/"
    return response.status_code == 302 and ("login/" in location or bounced)


def test_every_route_is_classified() -> None:
    missing = [f"{route.name} ({route.pattern})" for route in unclassified_routes()]
    assert not missing, "Classify these routes in portal/tests/access_matrix.py: " + ", ".join(missing)


def _extra_view(request: Any) -> Any:  # pragma: no cover - never called
    raise AssertionError


urlpatterns = [*portal_urlpatterns, path("sneaky/", _extra_view, name="sneaky")]


@pytest.mark.urls("portal.tests.test_access_matrix")
def test_a_new_unclassified_route_is_caught() -> None:
    assert [route.name for route in unclassified_routes()] == ["sneaky"]


ROUTES = list(iter_routes())


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])
def test_route_access_matches_the_matrix(route: Route, world: World) -> None:
    rule = rule_for(route)
    assert rule is not None, f"{route.name} is not classified"
    # A bank A page that some of its roles may use: the others are refused for their role (403), not hidden.
    role_ruled = route.name.startswith(("partners:", "delivery:bank-", "bank_trail:")) and bool(
        rule.allowed & BANK_A_ROLES
    )
    wrong: list[str] = []
    for persona in PERSONAS:
        url = _url(route, world)
        client = Client(raise_request_exception=False)
        headers: dict[str, str] = {}
        if persona != ANONYMOUS:
            sign_in_verified(client, world.users[persona])
        if rule.api and persona in world.keys:
            headers["authorization"] = f"Bearer {world.keys[persona]}"
        response = getattr(client, rule.method)(url, headers=headers)
        assert response.status_code < 500, f"{persona} got {response.status_code} from {url}"
        allowed = persona in rule.allowed
        if allowed == _refused(response, rule):
            wrong.append(f"{persona}: {response.status_code} {response.headers.get('Location', '')}")
        elif role_ruled and persona in BANK_A_ROLES and not allowed and response.status_code != 403:
            wrong.append(f"{persona}: {response.status_code}, not 403 for their role")
    assert not wrong, f"{route.name} {_url(route, world)}: " + "; ".join(wrong)
