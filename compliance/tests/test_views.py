"""Compliance staff read the audit trail a page at a time and can verify the chain."""

from __future__ import annotations

import pytest
from django.test import Client

from compliance.audit import audit_append
from portal.tests.factories import ComplianceStaffFactory
from portal.tests.signing_in import sign_in_verified


@pytest.mark.django_db
@pytest.mark.parametrize("entries", [3, 60])
def test_audit_trail_page_query_count_does_not_grow(
    client: Client, entries: int, django_assert_max_num_queries: object
) -> None:
    for n in range(entries):
        audit_append(action=f"test.page.{n}", data={"n": n})
    sign_in_verified(client, ComplianceStaffFactory())
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        response = client.get("/compliance/")
    assert response.status_code == 200
    html = response.content.decode()
    # Newest first, 50 a page: the last entry written is always on page one, the first only when it fits.
    assert f"test.page.{entries - 1}</code>" in html
    assert ("test.page.0</code>" in html) is (entries < 50)


@pytest.mark.django_db
def test_filter_and_verify(client: Client) -> None:
    audit_append(action="partner.create")
    audit_append(action="auth.login")
    sign_in_verified(client, ComplianceStaffFactory())
    response = client.get("/compliance/", {"action": "partner."})
    assert b"partner.create" in response.content
    assert b"auth.login</code>" not in response.content
    response = client.post("/compliance/verify/")
    assert b"The chain is intact" in response.content
