"""The partner API knows the calling bank by its key and refuses everything else clearly."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from partners.models import Partner
from partners.services import partner_api_key_revoke
from partners.tests.factories import PartnerFactory, api_key_for


def _get(client: Client, key: str | None, path: str = "/api/v1/partner/") -> Any:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return client.get(path, headers=headers)


@pytest.mark.django_db
def test_the_key_tells_which_bank_is_calling(client: Client, django_assert_max_num_queries: Any) -> None:
    bank = PartnerFactory()
    key = api_key_for(bank)
    assert key.startswith("pbk_sandbox_")
    # The key (1), its last-use stamp (1, at most once a minute), the terms and the acceptance (2).
    with django_assert_max_num_queries(4):
        response = _get(client, key)
    assert response.status_code == 200
    assert response.json() == {
        "slug": bank.slug,
        "name": bank.legal_name,
        "status": "sandbox",
        "key_environment": "sandbox",
        "terms_status": {"state": "no_terms", "current_version": None, "accepted_version": None, "grace_ends_at": None},
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        (None, 401, "not_authenticated"),
        ("pbk_sandbox_nothere_abc", 401, "invalid_api_key"),
        ("not-even-a-key", 401, "invalid_api_key"),
    ],
)
def test_missing_or_wrong_keys_get_a_stable_code(client: Client, key: str | None, status: int, code: str) -> None:
    response = _get(client, key)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_a_revoked_key_stops_at_once(client: Client) -> None:
    bank = PartnerFactory()
    key = api_key_for(bank)
    partner_api_key_revoke(key=bank.api_keys.get())
    assert _get(client, key).json()["error"]["code"] == "invalid_api_key"


@pytest.mark.django_db
def test_a_key_that_differs_only_after_the_lookup_part_is_refused(client: Client) -> None:
    key = api_key_for(PartnerFactory())
    assert _get(client, key[:-4] + "AAAA").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "code"),
    [(Partner.Status.SUSPENDED, "partner_suspended"), (Partner.Status.APPLIED, "partner_not_approved")],
)
def test_banks_that_may_not_call_get_their_own_code(client: Client, status: str, code: str) -> None:
    bank = PartnerFactory()
    key = api_key_for(bank)
    Partner.objects.filter(pk=bank.pk).update(status=status)
    response = _get(client, key)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == code


@pytest.mark.django_db
def test_malformed_json_gets_the_envelope(client: Client) -> None:
    key = api_key_for(PartnerFactory())
    response = client.post(
        "/api/v1/partner/", data="{nope", content_type="application/json", headers={"authorization": f"Bearer {key}"}
    )
    assert response.status_code in (400, 405)
    assert response.json()["error"]["code"] in ("malformed_json", "method_not_allowed")
