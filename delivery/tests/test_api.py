"""The partner API of delivery: posting events, reading one with its deliveries, replaying webhooks."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from delivery.models import Delivery, DeliveryAttempt, PartnerEvent, WebhookMessage
from delivery.tests.factories import balance_event, consenting
from partners.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


def _post(client: Client, key: str, body: Any, idempotency: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {key}"}
    if idempotency:
        headers["idempotency-key"] = idempotency
    return client.post("/api/v1/events/", body, content_type="application/json", headers=headers)


def test_one_event_is_accepted_and_a_repeat_returns_the_first_answer(client: Client) -> None:
    c = consenting()
    event = balance_event(c.link.pk)
    first = _post(client, c.api_key, event, idempotency="abc")
    assert first.status_code == 202
    body = first.json()
    assert body["status"] == "accepted"
    assert body["event_id"] == "abc"
    assert {d["channel"] for d in body["deliveries"]} == {"inbox"}
    again = _post(client, c.api_key, event, idempotency="abc")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert PartnerEvent.objects.count() == 1


def test_a_changed_body_under_the_same_key_is_refused_as_duplicate(client: Client) -> None:
    c = consenting()
    event = balance_event(c.link.pk, event_id="same")
    assert _post(client, c.api_key, event).status_code == 202
    assert _post(client, c.api_key, event).status_code == 200
    event["payload"]["balance"] = "0.00"
    clash = _post(client, c.api_key, event)
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "duplicate"


def test_an_event_without_consent_answers_consent_required(client: Client) -> None:
    c = consenting()
    other = consenting()
    response = _post(client, c.api_key, balance_event(other.link.pk, event_id="x"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "consent_required"


def test_a_batch_answers_per_event_with_pinned_queries(client: Client, django_assert_max_num_queries: Any) -> None:
    c = consenting()
    events = [balance_event(c.link.pk) for _ in range(50)] + [{"type": "nope"}]
    with django_assert_max_num_queries(20):
        response = _post(client, c.api_key, {"events": events}, idempotency="batch-1")
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["refused"]) == (50, 1)
    assert body["results"][50]["error"]["code"] == "invalid"
    assert body["results"][0]["event"]["event_id"] == "batch-1:0"
    assert PartnerEvent.objects.count() == 50


@pytest.mark.parametrize(
    "body", [[], {"events": []}, {"events": "x"}, {"events": [{}] * 501}, {"events": [], "more": 1}]
)
def test_malformed_batches_are_refused_clearly(client: Client, body: Any) -> None:
    c = consenting()
    response = _post(client, c.api_key, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    if isinstance(body, dict) and set(body) == {"events"} and isinstance(body["events"], list):
        assert response.json()["error"]["fields"] == {"events": ["Give a list of 1 to 500 events."]}


def test_an_event_shows_its_deliveries_and_attempts_to_its_bank_only(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    c = consenting()
    event_id = _post(client, c.api_key, balance_event(c.link.pk, event_id="e")).json()["id"]
    delivery = Delivery.objects.get()
    DeliveryAttempt.objects.create(delivery=delivery, status_code=503, response_excerpt="busy", duration_ms=12)
    with django_assert_max_num_queries(10):
        response = client.get(f"/api/v1/events/{event_id}/", headers={"authorization": f"Bearer {c.api_key}"})
    assert response.status_code == 200
    [attempt] = response.json()["deliveries"][0]["attempts"]
    assert attempt["status_code"] == 503
    assert attempt["response"] == "busy"
    other = consenting()
    refused = client.get(f"/api/v1/events/{event_id}/", headers={"authorization": f"Bearer {other.api_key}"})
    assert refused.status_code == 404


def test_webhook_replay_requeues_messages_since_a_time(client: Client) -> None:
    c = consenting()
    endpoint, _secret = webhook_endpoint_create(
        partner=c.bank, url="https://bank.example/hooks", event_types=["consent.revoked"], actor=None
    )
    WebhookMessage.objects.create(
        partner=c.bank, endpoint=endpoint, event_type="consent.revoked", payload={}, status="delivered"
    )
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}/replay/"
    auth = {"authorization": f"Bearer {c.api_key}"}
    response = client.post(url, {"since": "2020-01-01T00:00:00Z"}, content_type="application/json", headers=auth)
    assert response.status_code == 202
    assert response.json() == {"replayed": 1}
    assert WebhookMessage.objects.get().status == "pending"
    # A time to come is within the schema: nothing was created since, so nothing is replayed.
    future = client.post(url, {"since": "2999-01-01T00:00:00Z"}, content_type="application/json", headers=auth)
    assert (future.status_code, future.json()) == (202, {"replayed": 0})
