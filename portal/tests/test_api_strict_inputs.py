"""The partner API takes what its schema says and nothing else: each schemathesis finding, pinned.

Text is a JSON string (never a number or boolean), numbers are numbers, moments carry their offset,
bodies hold only the fields they name, and where the API refuses a value its schema allows, the
schema says so (a minimum, an enum, a description), or the API takes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from consent.services import consent_revoke
from delivery.tests.factories import Consenting, balance_event, consenting
from partners.tests.factories import SCOPE_CONTENT, capability_for, webhook_endpoint_for
from portal.api.fields import StrictCharField, text_pattern

pytestmark = pytest.mark.django_db


@dataclass
class Bank:
    """A live bank with a person who granted it balance updates, and its HTTP client."""

    client: Client
    world: Consenting

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"authorization": f"Bearer {self.world.api_key}"}
        if method == "get":
            return self.client.get(f"/api/v1/{path}", headers=headers)
        send = getattr(self.client, method)
        return send(f"/api/v1/{path}", json.dumps(body), content_type="application/json", headers=headers)


@pytest.fixture
def bank(client: Client) -> Bank:
    return Bank(client, consenting())


def refused_at(response: Any, *where: str) -> list[str]:
    """Assert a 400 `invalid` and return the messages at `where` in its fields."""
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid"
    node: Any = body["fields"]
    for part in where:
        node = node[part]
    assert node, body
    assert all(isinstance(message, str) and message.endswith(".") for message in node), node
    return list(node)


def scope_body(**changes: Any) -> dict[str, Any]:
    return {"code": "receipts.read", **SCOPE_CONTENT, **changes}


def _schema(client: Client) -> dict[str, Any]:
    return client.get("/api/schema/", headers={"accept": "application/json"}).json()


# --- Text is text ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [12, 0, 1.5, True, False])
def test_a_scope_name_that_is_not_text_is_refused_at_its_field(bank: Bank, value: Any) -> None:
    assert refused_at(bank.call("post", "scopes/", scope_body(name=value)), "name") == ["Give text here, in quotes."]


def test_a_scope_field_description_of_0_is_refused_at_its_place(bank: Bank) -> None:
    body = scope_body(fields=[{"name": "balance", "description": 0}])
    assert refused_at(bank.call("post", "scopes/", body), "fields", "0", "description") == [
        "Give text here, in quotes."
    ]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("capabilities/", {"code": "ask", "name": True, "description": "d", "message_types": ["chat_reply"]}, "name"),
        ("capabilities/", {"code": 5, "name": "n", "description": "d", "message_types": ["chat_reply"]}, "code"),
        ("webhook-endpoints/", {"url": "https://bank.example/h", "event_types": ["link.created"], "description": 5},
         "description"),
        ("webhook-endpoints/", {"url": 443, "event_types": ["link.created"]}, "url"),
    ],
)  # fmt: skip
def test_numbers_and_booleans_are_refused_for_every_text_field(
    bank: Bank, path: str, body: dict[str, Any], field: str
) -> None:
    assert refused_at(bank.call("post", path, body), field)


def test_a_note_that_is_a_number_is_refused(bank: Bank) -> None:
    assert refused_at(bank.call("post", f"consents/{bank.world.grant.pk}/deletion-attestation/", {"note": 5}), "note")


def test_an_amount_must_be_text(bank: Bank) -> None:
    event = balance_event(bank.world.link.pk, event_id="n")
    event["payload"]["balance"] = 12.3
    assert refused_at(bank.call("post", "events/", event), "payload", "balance") == [
        'Give the amount as text, in quotes, like "12.30".'
    ]


def test_a_whole_number_must_be_a_number(bank: Bank) -> None:
    code = bank.world.grant.scope.code
    assert refused_at(bank.call("patch", f"scopes/{code}/", {"retention_days": "30"}), "retention_days")


def test_a_moment_needs_its_offset_and_is_never_a_number(bank: Bank) -> None:
    endpoint = webhook_endpoint_for(bank.world.bank)
    for since in (1_700_000_000, "2026-01-01T09:00:00", "2026-01-01 09:00"):
        assert refused_at(bank.call("post", f"webhook-endpoints/{endpoint.pk}/replay/", {"since": since}), "since")


def test_text_is_measured_as_sent(bank: Bank) -> None:
    assert refused_at(bank.call("post", "scopes/", scope_body(name="   ")), "name")
    assert refused_at(bank.call("post", "scopes/", scope_body(name="n" * 120 + " ")), "name")
    created = bank.call("post", "scopes/", scope_body(name=" Receipts "))  # within the schema: taken
    assert created.status_code == 201
    assert created.json()["name"] == "Receipts"  # the catalog keeps names without surrounding spaces


@given(st.text(max_size=12))
def test_the_text_pattern_in_the_schema_is_exactly_what_a_text_field_takes(text: str) -> None:
    for blank in (False, True):
        field = StrictCharField(allow_blank=blank)
        try:
            field.run_validation(text)
            taken = True
        except ValidationError:
            taken = False
        assert taken == bool(re.match(text_pattern(blank=blank), text)), (text, blank)


# --- Bodies hold what they name, and the schema says so ------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("scopes/", scope_body(colour="red")),
        ("scopes/", scope_body(version=3)),  # read-only: refused, not ignored
        ("capabilities/", {"code": "ask", "name": "n", "description": "d", "message_types": ["chat_reply"], "x": 1}),
        ("webhook-endpoints/", {"url": "https://bank.example/h", "event_types": ["link.created"], "secret": "s"}),
    ],
)
def test_a_field_the_contract_does_not_name_is_refused(bank: Bank, path: str, body: dict[str, Any]) -> None:
    extra = next(name for name in body if name in {"colour", "version", "x", "secret"})
    assert refused_at(bank.call("post", path, body), extra) == ["This field is not part of the contract; leave it out."]


def test_every_request_body_in_the_schema_forbids_fields_it_does_not_name(client: Client) -> None:
    components = _schema(client)["components"]["schemas"]
    bodies = [name for name in components if name.endswith("Request") and "properties" in components[name]]
    assert len(bodies) >= 8
    assert [name for name in bodies if components[name].get("additionalProperties") is not False] == []
    for event in ("BalanceUpdateEvent", "FraudAlertEvent", "ReceiptEvent", "ShippingUpdateEvent", "EventBatch"):
        assert components[event]["additionalProperties"] is False


def test_a_capability_code_cannot_be_patched(bank: Bank) -> None:
    capability = capability_for(bank.world.bank, scope_codes=[bank.world.grant.scope.code])
    response = bank.call("patch", f"capabilities/{capability.code}/", {"code": "other"})
    assert refused_at(response, "code")


# --- What the API refuses, the schema says; what the schema allows, the API takes ----------------


def test_link_0_is_refused_as_the_schema_says(bank: Bank, client: Client) -> None:
    [link] = [p for p in _schema(client)["paths"]["/api/v1/consents/"]["get"]["parameters"] if p["name"] == "link"]
    assert link["schema"]["minimum"] == 1
    for value in ("0", "-1", " 1", "1.0", "\uff11"):  # the last is a full-width digit one
        assert refused_at(bank.call("get", f"consents/?link={value}"), "link")
    assert bank.call("get", f"consents/?link={bank.world.link.pk}").json()["count"] == 1


def test_a_future_since_is_taken_and_replays_nothing(bank: Bank) -> None:
    endpoint = webhook_endpoint_for(bank.world.bank)
    since = (timezone.now() + timedelta(days=1)).isoformat()
    response = bank.call("post", f"webhook-endpoints/{endpoint.pk}/replay/", {"since": since})
    assert response.status_code == 202
    assert response.json() == {"replayed": 0}


def test_revoked_by_is_null_until_a_grant_is_revoked_and_the_schema_says_it_may_be(bank: Bank, client: Client) -> None:
    revoked_by = _schema(client)["components"]["schemas"]["Consent"]["properties"]["revoked_by"]
    assert {"$ref": "#/components/schemas/NullEnum"} in revoked_by["oneOf"]
    grant = bank.world.grant
    assert bank.call("get", f"consents/{grant.pk}/").json()["revoked_by"] is None
    consent_revoke(grant=grant, actor=bank.world.user)
    assert bank.call("get", f"consents/{grant.pk}/").json()["revoked_by"] == "user"


def test_a_scope_the_bank_has_not_published_clashes_with_its_catalog(bank: Bank) -> None:
    body = {"code": "ask", "name": "n", "description": "d", "message_types": ["chat_reply"], "scopes": ["cards.read"]}
    response = bank.call("post", "capabilities/", body)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "scope_not_available")
    reserved = bank.call("post", "capabilities/", {**body, "code": "new", "scopes": []})
    assert (reserved.status_code, reserved.json()["error"]["code"]) == (409, "reserved_code")


def test_max_duration_beyond_a_year_is_outside_the_schema_too(bank: Bank, client: Client) -> None:
    scope = _schema(client)["components"]["schemas"]["ScopeRequest"]["properties"]["max_duration_days"]
    assert scope["maximum"] == 365
    response = bank.call("post", "scopes/", scope_body(max_duration_days=366))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "duration_too_long")


def test_optional_event_fields_may_be_null_as_the_schema_says(bank: Bank, client: Client) -> None:
    components = _schema(client)["components"]["schemas"]
    assert {"type": "null"} in components["ShippingUpdatePayload"]["properties"]["eta"]["anyOf"]
    assert {"type": "null"} in components["BalanceUpdateEvent"]["properties"]["deliver_by"]["anyOf"]
    body = {**balance_event(bank.world.link.pk), "event_id": None, "deliver_by": None}
    headers = {"authorization": f"Bearer {bank.world.api_key}", "idempotency-key": "null-fields"}
    response = bank.client.post("/api/v1/events/", body, content_type="application/json", headers=headers)
    assert response.status_code == 202, response.content


@pytest.mark.parametrize("as_of", ["0693-10-23T00:56:57+21:32", "9999-12-30T23:00:00-23:00"])
def test_a_moment_with_any_offset_rfc_3339_allows_is_taken(bank: Bank, as_of: str) -> None:
    # The database takes offsets up to 15:59; RFC 3339 allows 23:59, so moments are kept in UTC.
    response = bank.call("post", "events/", balance_event(bank.world.link.pk, event_id=f"offset-{as_of}", as_of=as_of))
    assert response.status_code == 202, response.content
