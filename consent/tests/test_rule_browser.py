"""In Chromium: what a narrowed scope and a suspended bank look like to the person, the bank and compliance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import screenshot, serious_accessibility_violations
from consent.models import ConsentGrant
from consent.tests.factories import grant_for
from delivery.tests.factories import consenting, published_balances_scope
from partners.models import Partner
from partners.services import partner_transition, scope_publish, scope_update
from partners.tests.factories import PartnerFactory, member_of
from portal.tests.factories import ComplianceStaffFactory, PlatformStaffFactory
from portal.tests.signing_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _looked_at(page: Any, name: str) -> None:
    screenshot(page, name)
    assert serious_accessibility_violations(page) == [], name


def test_a_narrowed_scope_and_a_suspended_bank_seen_by_each_of_them(page: Any) -> None:
    bank = PartnerFactory(status=Partner.Status.LIVE, legal_name="Northwind Savings")
    published_balances_scope(bank, purposes=["account_updates", "fraud_alerts"])
    person = consenting(bank)
    grant_for(person.link, person.grant.scope, purpose="fraud_alerts")
    ConsentGrant.objects.filter(user=person.user).update(granted_at=timezone.now() - timedelta(days=100))
    manager = member_of(bank)  # signs in with the factories' PASSWORD
    # The bank drops fraud alerts and shortens its grants to 120 days; then staff suspend it.
    scope = person.grant.scope
    scope_update(scope=scope, actor=manager, purposes=["account_updates"], max_duration_days=120)
    scope_publish(scope=scope, actor=manager)
    partner_transition(partner=bank, to_status=Partner.Status.SUSPENDED, note="Incident", actor=PlatformStaffFactory())

    sign_in(page, person.user.email)
    page.goto("/me/")
    expect(page.get_by_text("Paused").first).to_be_visible()
    expect(page.get_by_text("Northwind Savings cannot send you anything for now.").first).to_be_visible()
    _looked_at(page, "rule-01-person-dashboard-paused")
    page.goto("/me/inbox/")
    expect(page.get_by_text("Northwind Savings changed Your account balances").first).to_be_visible()
    _looked_at(page, "rule-02-person-inbox-told")

    page.context.clear_cookies()
    sign_in(page, manager.email)
    page.goto(f"/bank/{bank.slug}/scopes/balances.read/")
    expect(page.get_by_text("What publishing version 2 changed for people")).to_be_visible()
    _looked_at(page, "rule-03-bank-scope-what-changed")

    page.context.clear_cookies()
    sign_in(page, ComplianceStaffFactory().email)
    page.goto(f"/compliance/grant-changes/?bank={bank.slug}")
    expect(page.get_by_role("cell", name="Northwind Savings").first).to_be_visible()
    _looked_at(page, "rule-04-compliance-grant-changes")
