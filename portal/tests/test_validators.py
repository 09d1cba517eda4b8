"""Names shown to other people refuse invisible text-direction controls, on every path that sets them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from partners.models import ChatbotCapability, DataScope, Partner
from partners.services import partner_apply
from partners.tests.factories import SCOPE_CONTENT, PartnerFactory, api_key_for
from portal.models import User
from portal.tests.factories import PASSWORD
from portal.validators import BIDI_CONTROLS, validate_no_bidi_controls

# "Bank of Evil" shown backwards after U+202E reads as a different bank's name.
SPOOFED = "Northwind \u202elivE fo knaB"


@pytest.mark.parametrize("code", [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
def test_each_direction_control_is_refused(code: int) -> None:
    assert chr(code) in BIDI_CONTROLS
    with pytest.raises(ValidationError) as refused:
        validate_no_bidi_controls(f"Bank{chr(code)}name")
    assert refused.value.code == "bidi_control"
    assert f"U+{code:04X}" in refused.value.messages[0]


@pytest.mark.parametrize("name", ["Northwind Savings", "Banque Société Générale", "بنك الرياض", "בנק הפועלים"])
def test_names_in_any_script_pass(name: str) -> None:
    validate_no_bidi_controls(name)  # right-to-left scripts need no control characters


@pytest.mark.django_db
def test_a_bank_cannot_apply_under_a_spoofed_name(client: Client) -> None:
    form = {
        "legal_name": SPOOFED,
        "country": "GB",
        "identifier_type": "regulator",
        "identifier": "REG-1",
        "website": "https://northwind.example",
        "security_contact": "security@northwind.example",
        "manager_email": "ana@northwind.example",
    }
    response = client.post("/partners/apply/", form)
    assert response.status_code == 200
    assert "invisible text-direction characters" in response.content.decode()
    with pytest.raises(ValidationError):  # and the service refuses it whoever calls
        partner_apply(**{**form, "legal_name": SPOOFED}, ip=None)
    assert not Partner.objects.exists()


@pytest.mark.django_db
def test_scope_and_capability_names_refuse_them_through_the_api(client: Client) -> None:
    headers = {"authorization": f"Bearer {api_key_for(PartnerFactory())}"}

    def post(path: str, body: dict[str, Any]) -> Any:
        return client.post(f"/api/v1/{path}", body, content_type="application/json", headers=headers)

    scope = post("scopes/", {"code": "balances.read", **SCOPE_CONTENT, "name": "Balances\u2066 of others"})
    assert scope.status_code == 400
    assert "invisible text-direction" in scope.json()["error"]["fields"]["name"][0]
    assert not DataScope.objects.exists()
    capability = post(
        "capabilities/",
        {"code": "check_balance", "name": "Check\u202d balance", "description": "What you have.", "scopes": [],
         "message_types": ["balance_update"]},
    )  # fmt: skip
    assert capability.status_code == 400
    assert "invisible text-direction" in capability.json()["error"]["fields"]["name"][0]
    assert not ChatbotCapability.objects.exists()


@pytest.mark.django_db
def test_a_person_cannot_sign_up_under_a_spoofed_name(client: Client) -> None:
    body = {"email": "eve@example.test", "full_name": "Eve\u202e", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post("/accounts/sign-up/", body)
    assert response.status_code == 200
    assert "invisible text-direction characters" in response.content.decode()
    assert not User.objects.exists()
    with pytest.raises(ValidationError):
        User.objects.create_user(email="eve@example.test", password=PASSWORD, full_name="Eve\u2067")
