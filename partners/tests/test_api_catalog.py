"""Partner API v1 for the catalog, webhook endpoints and terms, as a bank's developer would use it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from compliance.models import AuditEntry
from partners.models import DataScope, DataScopeVersion, Partner, UsageTerms, WebhookEndpoint
from partners.services import terms_accept, terms_publish
from partners.tests.factories import (
    SCOPE_CONTENT,
    PartnerFactory,
    api_key_for,
    capability_for,
    member_of,
    published_scope,
    webhook_endpoint_for,
)


class Api:
    """A bank's HTTP client for the partner API."""

    def __init__(self, client: Client, key: str) -> None:
        self.client, self.headers = client, {"authorization": f"Bearer {key}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1/{path}", headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(f"/api/v1/{path}", body or {}, content_type="application/json", headers=self.headers)

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(f"/api/v1/{path}", body, content_type="application/json", headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1/{path}", headers=self.headers)


@pytest.fixture
def bank(db: None) -> Partner:
    return PartnerFactory()


@pytest.fixture
def api(client: Client, bank: Partner) -> Api:
    cache.clear()
    return Api(client, api_key_for(bank))


def _error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# --- Scopes ---------------------------------------------------------------------------------------


def test_declare_publish_and_change_a_scope_makes_versions(api: Api, bank: Partner) -> None:
    created = api.post("scopes/", {"code": "balances.read", **SCOPE_CONTENT})
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "draft"
    assert created.json()["version"] == 1
    assert created.json()["published_version"] is None

    published = api.patch("scopes/balances.read/", {"status": "published"})
    assert published.json()["status"] == "published"
    assert published.json()["published_version"] == 1

    narrowed = api.patch(
        "scopes/balances.read/",
        {"fields": [{"name": "balance", "description": "Current balance"}], "status": "published"},
    )
    body = narrowed.json()
    assert (body["version"], body["published_version"], body["status"]) == (2, 2, "published")
    scope = DataScope.objects.get(partner=bank, code="balances.read")
    first, second = scope.versions.order_by("number")
    assert first.status == DataScopeVersion.Status.SUPERSEDED
    assert second.narrowed == {"fields_removed": ["available"]}
    assert AuditEntry.objects.filter(action="scope.publish", target_id=str(scope.pk)).count() == 2


def test_high_sensitivity_waits_for_compliance(api: Api) -> None:
    api.post(
        "scopes/", {"code": "fraud_signals.read", **SCOPE_CONTENT, "category": "fraud_signals", "sensitivity": "high"}
    )
    response = api.patch("scopes/fraud_signals.read/", {"status": "published"})
    assert response.json()["status"] == "pending_review"
    assert response.json()["published_version"] is None
    assert not DataScope.objects.visible_to_users().exists()


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"purposes": ["advertising"]}, 400, "purpose_not_allowed", "purposes"),
        ({"purposes": ["marketing", "account_updates"]}, 400, "purpose_not_allowed", "purposes"),
        ({"purposes": ["telepathy"]}, 400, "unknown_purpose", "purposes"),
        ({"max_duration_days": 400}, 400, "duration_too_long", "max_duration_days"),
        ({"code": "Balances"}, 400, "invalid", "code"),
        ({"fields": []}, 400, "invalid", "fields"),
        ({"category": "horoscopes"}, 400, "invalid", "category"),
    ],
)
def test_bad_scopes_are_refused_and_nothing_is_saved(
    api: Api, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    response = api.post("scopes/", {"code": "balances.read", **SCOPE_CONTENT, **change})
    assert _error(response) == (status, code)
    assert field in response.json()["error"]["fields"]
    assert response.json()["error"]["message"]
    assert not DataScope.objects.exists()
    assert not DataScopeVersion.objects.exists()


def test_duplicate_scope_code_is_a_conflict(api: Api) -> None:
    assert api.post("scopes/", {"code": "balances.read", **SCOPE_CONTENT}).status_code == 201
    assert _error(api.post("scopes/", {"code": "balances.read", **SCOPE_CONTENT})) == (409, "duplicate")
    assert DataScope.objects.count() == 1


def test_retired_scope_cannot_be_edited(api: Api, bank: Partner) -> None:
    published_scope(bank)
    assert api.patch("scopes/balances.read/", {"status": "retired"}).json()["status"] == "retired"
    assert _error(api.patch("scopes/balances.read/", {"name": "New"})) == (409, "scope_retired")


@pytest.mark.parametrize("rows", [2, 12])
def test_scope_list_query_count_is_flat(api: Api, bank: Partner, rows: int, django_assert_max_num_queries: Any) -> None:
    for n in range(rows):
        published_scope(bank, code=f"scope_{n}.read")
    api.get("partner/")  # stamps the key's last use, so the counted request does not
    with django_assert_max_num_queries(7):
        response = api.get("scopes/")
    assert response.json()["count"] == rows


# --- Capabilities ---------------------------------------------------------------------------------


def test_capability_uses_only_own_published_scopes(api: Api, bank: Partner) -> None:
    published_scope(bank)
    other = PartnerFactory()
    published_scope(other, code="cards.read")
    body = {
        "code": "check_balance",
        "name": "Check my balance",
        "description": "Ask for your balance",
        "message_types": ["balance_update"],
    }
    assert _error(api.post("capabilities/", {**body, "scopes": ["cards.read"]})) == (409, "scope_not_available")
    created = api.post("capabilities/", {**body, "scopes": ["balances.read"], "sample_utterances": ["Balance?"]})
    assert created.status_code == 201
    assert created.json()["scopes"] == ["balances.read"]
    assert created.json()["webhook_url"] is None
    assert _error(api.post("capabilities/", {**body, "scopes": []})) == (409, "duplicate")


@pytest.mark.parametrize(
    ("url", "code"),
    [("ftp://bank.example/bot", "invalid_url"), ("not a url", "invalid")],
)
def test_capability_webhook_url_must_be_a_web_address(api: Api, bank: Partner, url: str, code: str) -> None:
    capability_for(bank)
    assert _error(api.patch("capabilities/check_balance/", {"webhook_url": url}))[1] == code


def test_private_webhook_urls_are_refused_outside_development(api: Api, bank: Partner, settings: Any) -> None:
    settings.PORTAL_ALLOW_INSECURE_OUTBOUND = False
    capability_for(bank)
    for url in ("https://127.0.0.1/bot", "https://10.1.2.3/bot", "https://169.254.169.254/", "https://localhost/x"):
        assert _error(api.patch("capabilities/check_balance/", {"webhook_url": url})) == (400, "unsafe_url"), url
    assert _error(api.patch("capabilities/check_balance/", {"webhook_url": "http://bank.example/bot"})) == (
        400,
        "insecure_url",
    )
    assert api.patch("capabilities/check_balance/", {"webhook_url": "https://bank.example/bot"}).status_code == 200


@pytest.mark.parametrize("rows", [2, 12])
def test_capability_list_query_count_is_flat(
    api: Api, bank: Partner, rows: int, django_assert_max_num_queries: Any
) -> None:
    published_scope(bank)
    for n in range(rows):
        capability_for(bank, code=f"cap_{n}")
    api.get("partner/")
    with django_assert_max_num_queries(7):
        assert api.get("capabilities/").json()["count"] == rows


# --- Webhook endpoints --------------------------------------------------------------------------------


def test_webhook_endpoint_secret_is_shown_once_and_rotates_with_overlap(api: Api) -> None:
    created = api.post("webhook-endpoints/", {"url": "https://bank.example/hooks", "event_types": ["consent.revoked"]})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    endpoint_id = created.json()["id"]
    assert "secret" not in api.get(f"webhook-endpoints/{endpoint_id}/").json()
    assert all("secret" not in item for item in api.get("webhook-endpoints/").json()["results"])

    rotated = api.post(f"webhook-endpoints/{endpoint_id}/rotate-secret/").json()
    assert rotated["secret"] != secret
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert endpoint.signing_secrets() == [rotated["secret"], secret]

    assert api.patch(f"webhook-endpoints/{endpoint_id}/", {"is_active": False}).json()["is_active"] is False
    assert api.delete(f"webhook-endpoints/{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_webhook_endpoint_of_another_bank_is_not_found(api: Api) -> None:
    other = webhook_endpoint_for(PartnerFactory())
    assert _error(api.get(f"webhook-endpoints/{other.pk}/")) == (404, "not_found")
    assert _error(api.delete(f"webhook-endpoints/{other.pk}/")) == (404, "not_found")
    assert WebhookEndpoint.objects.filter(pk=other.pk).exists()


def test_unknown_webhook_event_is_refused(api: Api) -> None:
    response = api.post("webhook-endpoints/", {"url": "https://bank.example/h", "event_types": ["consent.sold"]})
    assert response.status_code == 400
    assert "event_types" in response.json()["error"]["fields"]


# --- Terms, suspension, throttling ---------------------------------------------------------------------


def test_terms_block_the_api_after_the_grace_period_until_a_manager_accepts(api: Api, bank: Partner) -> None:
    manager = member_of(bank)
    first = terms_publish(title="Terms", body="# v1\nBe good.", actor=None)
    terms_accept(partner=bank, terms=first, user=manager)
    second = terms_publish(title="Terms", body="# v2\nBe better.", actor=None, grace_days=10)
    assert api.get("scopes/").status_code == 200  # inside the grace period
    assert api.get("partner/").json()["terms_status"]["state"] == "grace_period"

    UsageTerms.objects.filter(pk=second.pk).update(published_at=timezone.now() - timedelta(days=11))
    assert _error(api.get("scopes/")) == (403, "terms_not_accepted")
    assert api.get("partner/").json()["terms_status"]["state"] == "blocked"  # the bank can still see why

    terms_accept(partner=bank, terms=second, user=manager)
    assert api.get("scopes/").status_code == 200


def test_a_suspended_bank_is_refused_at_once(api: Api, bank: Partner) -> None:
    Partner.objects.filter(pk=bank.pk).update(status=Partner.Status.SUSPENDED)
    assert _error(api.post("scopes/", {"code": "balances.read", **SCOPE_CONTENT})) == (403, "partner_suspended")
    assert not DataScope.objects.exists()


def test_each_key_is_rate_limited(api: Api, settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"}}
    from rest_framework.settings import api_settings

    api_settings.reload()
    from partners.api.throttling import ApiKeyRateThrottle

    ApiKeyRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        statuses = [api.get("scopes/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = api.get("scopes/")
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "1200/min"}}
        api_settings.reload()
        ApiKeyRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
