"""The client's address: taken from what our own proxies saw, never from what the client wrote."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory

from compliance.models import AuditEntry
from partners.models import Partner
from portal.requests import client_ip

FORGED = "198.51.100.66"
PROXY = "10.0.0.5"


def request_from(remote: str, forwarded: str | None = None) -> Any:
    """Return a request that reached the web process from `remote` carrying `forwarded`."""
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_header_is_ignored(settings: Any) -> None:
    settings.PORTAL_TRUSTED_PROXIES = 0
    assert client_ip(request_from("203.0.113.9", FORGED)) == "203.0.113.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, f"{FORGED}, 203.0.113.9", "203.0.113.9"),  # the client wrote the leftmost entry
        (1, f"{FORGED},{FORGED}, 203.0.113.9", "203.0.113.9"),
        (2, f"{FORGED}, 203.0.113.9, 10.0.0.9", "203.0.113.9"),  # the outer proxy saw the client
        (2, "203.0.113.9", PROXY),  # fewer hops than proxies: nothing in the header is trusted
        (1, "", PROXY),
        (1, "not-an-address", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_behind_proxies_the_address_the_outer_proxy_saw_is_taken(
    settings: Any, proxies: int, forwarded: str, expected: str
) -> None:
    settings.PORTAL_TRUSTED_PROXIES = proxies
    assert client_ip(request_from(PROXY, forwarded)) == expected


def test_no_request_no_address() -> None:
    assert client_ip(None) is None


def _application(n: int) -> dict[str, str]:
    return {
        "legal_name": f"Bank {n} plc",
        "country": "GB",
        "identifier_type": "regulator",
        "identifier": f"REG-{n}",
        "website": f"https://bank{n}.example",
        "security_contact": f"security@bank{n}.example",
        "manager_email": f"m{n}@bank{n}.example",
    }


@pytest.mark.django_db
def test_a_forged_header_never_reaches_the_audit_trail(settings: Any) -> None:
    settings.PORTAL_TRUSTED_PROXIES = 1
    client = Client(REMOTE_ADDR=PROXY)
    response = client.post("/partners/apply/", _application(1), HTTP_X_FORWARDED_FOR=f"{FORGED}, 203.0.113.9")
    assert response.status_code == 302
    assert AuditEntry.objects.get(action="partner.apply").ip == "203.0.113.9"


@pytest.mark.django_db
@pytest.mark.parametrize("proxies", [0, 1])
def test_rotating_a_forged_header_does_not_walk_around_the_application_limit(settings: Any, proxies: int) -> None:
    settings.PORTAL_TRUSTED_PROXIES = proxies
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "partner_application": "2/hour",
        },
    }
    client = Client(REMOTE_ADDR=PROXY)
    real = "203.0.113.9" if proxies else PROXY
    statuses = [
        client.post("/partners/apply/", _application(n), HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {real}").status_code
        for n in range(4)
    ]
    assert statuses == [302, 302, 429, 429]
    assert Partner.objects.count() == 2
    assert set(AuditEntry.objects.filter(action="partner.apply").values_list("ip", flat=True)) == {real}
