"""Schemathesis drives the whole partner API from /api/schema/: every check, negative data, stateful links.

The API runs as the real WSGI application (every middleware, the real parser, database and audit
trail), called with a real live key of a seeded bank that has a person linked to it with grants,
a capability, a webhook endpoint and an event, so the paths past authentication are reached.
Every check schemathesis has runs on every response: no 5xx, status codes, headers and content
types as documented, bodies that match their schema, schema-invalid requests refused (negative
data) and schema-valid ones accepted (positive data). Bounded and repeatable for CI: a fixed
number of examples per operation, no deadline, derandomized.

Run it alone: `pytest portal/tests/test_api_schema.py` (about a minute).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from django.test import Client
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings
from schemathesis.generation.modes import GenerationMode

from consent.services import consent_revoke
from consent.tests.factories import grant_for, link_for
from delivery.tests.factories import balance_event, consenting
from partners.api.throttling import ApiKeyRateThrottle
from partners.models import PartnerApiKey
from partners.services import partner_api_key_create
from partners.tests.factories import capability_for, webhook_endpoint_for
from portal import outbound_guard
from portal.tests.factories import UserFactory
from portal.wsgi import application

# A live key of the seeded bank, the same in every run so the schema's config can send it (made with
# partner_api_key_create's raw_key, as seed_demo makes the demo keys).
RAW_KEY = "pbk_live_schemathesis1_Schemathesis-Key-Not-A-Secret-0000000000001"
HEADERS = {"Authorization": f"Bearer {RAW_KEY}"}

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@schema.auth(refresh_interval=None)
class PartnerKey:
    """The seeded bank's key, given the way schemathesis knows about (so it also tries requests without it)."""

    def get(self, case: Any, context: Any) -> str:
        return RAW_KEY

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], deterministic=True, database="none"
)
schema.config.phases.stateful.max_steps = 6
# The same operations with no key at all: every one must refuse.
keyless = schemathesis.openapi.from_wsgi("/api/schema/", application)
keyless.config.generation.update(deterministic=True, database="none")

EVENTS = "/api/v1/events/"


@dataclass
class World:
    """The seeded bank's real objects, for the operations' path parameters and events' links."""

    link: int
    grant: int
    revoked_grant: int
    event: int
    endpoint: int
    scope: str
    capability: str

    def objects_at(self, path: str) -> dict[str, Any]:
        """Return the path parameters that name this world's object at the operation `path`."""
        if path.startswith("/api/v1/consents/{id}/deletion-attestation/"):
            return {"id": self.revoked_grant}  # an ended grant, whose deletion the bank can attest
        for prefix, parameters in (
            ("/api/v1/consents/{id}", {"id": self.grant}),
            ("/api/v1/events/{id}", {"id": self.event}),
            ("/api/v1/webhook-endpoints/{id}", {"id": self.endpoint}),
            ("/api/v1/scopes/{code}", {"code": self.scope}),
            ("/api/v1/capabilities/{code}", {"code": self.capability}),
        ):
            if path.startswith(prefix):
                return parameters
        return {}


@pytest.fixture(autouse=True)
def _keep_test_connection_open() -> Iterator[None]:
    """Calls through the WSGI app must not close the test's connection, as Django's test client ensures."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def _schema_test_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hundreds of requests a minute on one key are the test, not an abuse: the rate limit has its own tests.
    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "1000000/min", raising=False)
    # Every host name is public here, so a schema-valid URL is one the platform may call; the rule for
    # names that resolve to private addresses is tested in portal/tests/test_outbound_guard.py.
    monkeypatch.setattr(outbound_guard, "resolver", outbound_guard.StaticResolver(fallback=["93.184.215.14"]))


@pytest.fixture
def world(db: None, client: Client, _schema_test_settings: None) -> World:
    """Seed a live bank with a person, grants (one revoked), a capability, a webhook endpoint and an event."""
    c = consenting()
    partner_api_key_create(
        partner=c.bank, name="schemathesis", environment=PartnerApiKey.Environment.LIVE, raw_key=RAW_KEY
    )
    other = link_for(UserFactory(), c.bank)
    revoked = consent_revoke(grant=grant_for(other), actor=other.user)
    posted = client.post(
        EVENTS, balance_event(c.link.pk, event_id="seed"), content_type="application/json", headers=HEADERS
    )
    assert posted.status_code == 202, posted.content
    # Django's test client connected these again when it finished; the WSGI calls must not close the connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    return World(
        link=c.link.pk,
        grant=c.grant.pk,
        revoked_grant=revoked.pk,
        event=posted.json()["id"],
        endpoint=webhook_endpoint_for(c.bank).pk,
        scope=c.grant.scope.code,
        capability=capability_for(c.bank, "ask_balance", scope_codes=[c.grant.scope.code]).code,
    )


def aim_at_the_world(case: Any, world: World, *, objects: bool = True) -> None:
    """Point a schema-valid case at the seeded bank's real objects, so it reaches past "not found".

    Only positive cases change, and only to other schema-valid values (real ids, codes and the real
    link; `objects=False` leaves path parameters to the stateful links). An event needs a key, its
    `event_id` or the `Idempotency-Key` header; the schema says so in both descriptions but cannot
    express "one of the two", so a case with neither gets the header.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    path = case.operation.path
    if objects:
        for parameter, value in world.objects_at(path).items():
            case.path_parameters[parameter] = value
        if path == "/api/v1/consents/" and "link" in (case.query or {}):
            case.query["link"] = world.link
    if path != EVENTS or not isinstance(case.body, dict):
        return
    events = case.body.get("events", [case.body])
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and "link" in event:
            event["link"] = world.link
    headers = dict(case.headers or {})
    if not headers.get("Idempotency-Key") and not case.body.get("event_id"):
        headers["Idempotency-Key"] = f"schemathesis-{case.id}"
    case.headers = headers


# Web addresses: the schema gives `^https?://` and, in words, the rest of the rule (a host name with a
# top-level domain of letters, as Django's URLValidator and the model check; a host that resolves only
# to public addresses). JSON Schema's `format: uri` is far wider than any address a platform may call
# and no regular expression in the schema could say the rest exactly, so a schema-valid case refused
# *only* at its address field is not counted against positive data acceptance. Every other check
# still runs on it, and a refusal naming any other field still fails.
ADDRESS_FIELDS = frozenset({"url", "webhook_url"})


def refused_only_for_its_address(response: Any) -> bool:
    """Return True when `response` is a 400 whose errors name only web address fields."""
    if response.status_code != 400:
        return False
    fields = response.json().get("error", {}).get("fields", {})
    return bool(fields) and set(fields) <= ADDRESS_FIELDS


def excluded_for(response: Any) -> list[Any]:
    """Return the checks not applied to `response` (see ADDRESS_FIELDS), usually none."""
    return [schemathesis.checks.positive_data_acceptance] if refused_only_for_its_address(response) else []


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_its_schema(case: Any, world: World) -> None:
    aim_at_the_world(case, world)
    response = case.call()
    case.validate_response(response, excluded_checks=excluded_for(response))


@keyless.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_refuses_without_a_key(case: Any, db: None) -> None:
    response = case.call()
    try:
        resolve(case.formatted_path)
    except Resolver404:
        assert response.status_code == 404  # e.g. a negative id: no route, so nothing to authenticate
        return
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"not_authenticated", "invalid_api_key"}


class Workflows(schema.as_state_machine()):  # type: ignore[misc]
    """Chains of calls along the schema's OpenAPI links: create a scope, then read and change it, ..."""

    world: World

    def setup(self) -> None:
        # Each scenario starts from the seeded world: its writes are rolled back after it, so a scenario
        # replayed while hypothesis shrinks meets the same state and answers the same way.
        self._scenario = transaction.atomic()
        self._scenario.__enter__()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._scenario.__exit__(None, None, None)

    def before_call(self, case: Any) -> None:
        aim_at_the_world(case, self.world, objects=False)

    def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=excluded_for(response),
            transport_kwargs=kwargs,
        )


@pytest.mark.django_db
def test_workflows_along_the_schema_links_honour_the_schema(world: World) -> None:
    Workflows.world = world
    Workflows.run(
        settings=settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            stateful_step_count=6,
            suppress_health_check=list(HealthCheck),
        )
    )


@pytest.mark.django_db
def test_the_schema_declares_links_for_stateful_testing(client: Client) -> None:
    body = client.get("/api/schema/", headers={"accept": "application/json"}).json()
    created = body["paths"]["/api/v1/scopes/"]["post"]["responses"]["201"]["links"]
    assert created["GetScope"] == {"operationId": "v1_scopes_retrieve", "parameters": {"code": "$response.body#/code"}}


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_a_cdn(client: Client) -> None:
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
    body = client.get("/api/schema/", headers={"accept": "application/json"}).json()
    assert "/api/v1/partner/" in body["paths"]
    assert body["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
