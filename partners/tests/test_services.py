"""The partner lifecycle rules in services.py: applying, transitions, invitations, scopes, rotations."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from compliance.models import AuditEntry
from partners.models import (
    DataScopeVersion,
    Invitation,
    Partner,
    PartnerApiKey,
    PartnerMembership,
    UsageTerms,
    WebhookEndpoint,
)
from partners.selectors import partner_api_key_for_raw
from partners.services import (
    capability_update,
    invitation_accept,
    invitation_check,
    invitation_create,
    partner_api_key_rotate,
    partner_apply,
    partner_transition,
    scope_publish,
    scope_review,
    scope_update,
    terms_accept,
    terms_publish,
    webhook_endpoint_rotate_secret,
)
from partners.tests.factories import (
    PartnerFactory,
    api_key_for,
    capability_for,
    member_of,
    published_scope,
    webhook_endpoint_for,
)
from partners.validators import validate_lei
from portal.errors import ApplicationError
from portal.tests.factories import ComplianceStaffFactory, PlatformStaffFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID_LEI = "5493001KJTIIGC8Y1R12"
APPLICATION = {
    "legal_name": "Northwind Savings plc",
    "country": "GB",
    "identifier_type": "lei",
    "identifier": VALID_LEI,
    "website": "https://northwind.example",
    "security_contact": "security@northwind.example",
    "manager_email": "Ana@Northwind.example",
}


def actions_about(obj: Any) -> list[str]:
    """Return the audit actions recorded about `obj`, oldest first."""
    entries = AuditEntry.objects.for_target(obj._meta.label_lower, str(obj.pk)).order_by("id")
    return list(entries.values_list("action", flat=True))


def later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    """Move the clock that models and services read forward by `delta`."""
    moment = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moment)


# --- Applying --------------------------------------------------------------------------------------


def test_applying_records_the_bank_and_emails_its_first_manager(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        partner, invitation = partner_apply(**APPLICATION, ip="203.0.113.9")
    assert partner.status == Partner.Status.APPLIED
    assert (partner.country.code, partner.identifier) == ("GB", VALID_LEI)
    assert (invitation.email, invitation.role) == ("ana@northwind.example", PartnerMembership.Role.MANAGER)
    assert actions_about(partner) == ["partner.apply", "partner.invite"]
    assert AuditEntry.objects.get(action="partner.apply").ip == "203.0.113.9"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ana@northwind.example"]
    token = re.search(r"/invitations/([\w-]+)/", mail.outbox[0].body)
    assert token is not None
    assert Invitation.objects.get(token_digest=Invitation.digest_of(token.group(1))) == invitation


@pytest.mark.parametrize(
    ("lei", "reason"),
    [("5493001KJTIIGC8Y1R13", "check digits"), ("5493001KJTIIGC8Y1R1", "20 letters"), ("5493001KJTIIGC8Y1R1!", "20")],
)
def test_an_invalid_lei_is_refused_and_nothing_is_saved(lei: str, reason: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        partner_apply(**{**APPLICATION, "identifier": lei})
    assert caught.value.code == "invalid_lei"
    assert reason in caught.value.message
    assert "identifier" in caught.value.fields
    assert not Partner.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_regulator_reference_is_not_checked_as_an_lei() -> None:
    partner, _ = partner_apply(**{**APPLICATION, "identifier_type": "regulator", "identifier": "fca-123456"})
    assert partner.identifier == "FCA-123456"


@pytest.mark.parametrize(
    "value", [VALID_LEI, "5493 001K JTII GC8Y 1R12", "5493001kjtiigc8y1r12", "HWUPKR0MPOU8FGXBT394"]
)
def test_validate_lei_accepts_well_formed_codes_however_typed(value: str) -> None:
    assert validate_lei(value) == "".join(value.split()).upper()


def test_a_bank_cannot_apply_twice_under_one_name() -> None:
    partner_apply(**APPLICATION)
    with pytest.raises(ApplicationError) as caught:
        partner_apply(
            **{**APPLICATION, "legal_name": "NORTHWIND SAVINGS PLC ", "manager_email": "bo@northwind.example"}
        )
    assert caught.value.code == "duplicate"
    assert caught.value.fields == {"legal_name": ["This bank has already applied."]}
    assert Partner.objects.count() == 1
    assert Invitation.objects.count() == 1


def test_a_withdrawn_bank_may_apply_again() -> None:
    partner, _ = partner_apply(**APPLICATION)
    partner_transition(partner=partner, to_status="withdrawn", note="Duplicate.", actor=PlatformStaffFactory())
    again, _ = partner_apply(**APPLICATION)
    assert again.slug != partner.slug


# --- Transitions -----------------------------------------------------------------------------------

PAIRS = [(old, new) for old in Partner.Status.values for new in Partner.Status.values if old != new]


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{old}->{new}" for old, new in PAIRS])
def test_staff_move_a_bank_only_along_the_transitions_table(old: str, new: str) -> None:
    partner = PartnerFactory(status="sandbox")
    manager = member_of(partner)
    terms_accept(partner=partner, terms=terms_publish(title="Terms", body="Text", actor=None), user=manager)
    if new == Partner.Status.LIVE:  # the whole go-live checklist done, so only the transitions table decides
        capability_update(capability=capability_for(partner), actor=None, status="published")
        api_key_for(partner)
        webhook_endpoint_for(partner)
    Partner.objects.filter(pk=partner.pk).update(status=old)
    partner.refresh_from_db()
    staff = PlatformStaffFactory()
    if new in Partner.TRANSITIONS[old]:
        partner_transition(partner=partner, to_status=new, note="Reviewed.", actor=staff)
        partner.refresh_from_db()
        assert partner.status == new
        entry = AuditEntry.objects.filter(action="partner.status_change").get()
        assert entry.data == {"from": old, "to": new, "note": "Reviewed."}
        assert entry.actor_id == str(staff.pk)
    else:
        with pytest.raises(ApplicationError) as caught:
            partner_transition(partner=partner, to_status=new, note="Reviewed.", actor=staff)
        assert caught.value.code == "invalid_transition"
        partner.refresh_from_db()
        assert partner.status == old
        assert not AuditEntry.objects.filter(action="partner.status_change").exists()


def test_a_transition_needs_a_note() -> None:
    partner = PartnerFactory(status="applied")
    with pytest.raises(ApplicationError) as caught:
        partner_transition(partner=partner, to_status="in_review", note="   ", actor=PlatformStaffFactory())
    assert caught.value.code == "note_required"
    assert caught.value.fields == {"note": ["Write a note."]}
    partner.refresh_from_db()
    assert partner.status == "applied"


def test_the_sandbox_needs_a_manager_who_verified_their_email() -> None:
    partner, _ = partner_apply(**APPLICATION)
    staff = PlatformStaffFactory()
    partner_transition(partner=partner, to_status="in_review", note="Looks right.", actor=staff)
    with pytest.raises(ApplicationError) as caught:
        partner_transition(partner=partner, to_status="sandbox", note="Approved.", actor=staff)
    assert caught.value.code == "manager_not_verified"
    member_of(partner)
    partner_transition(partner=partner, to_status="sandbox", note="Approved.", actor=staff)
    assert Partner.objects.get(pk=partner.pk).status == "sandbox"


def test_going_live_needs_the_current_terms_accepted() -> None:
    partner = PartnerFactory(status="sandbox")
    manager = member_of(partner)
    staff = PlatformStaffFactory()
    with pytest.raises(ApplicationError) as caught:  # no terms at all yet
        partner_transition(partner=partner, to_status="live", note="Ready.", actor=staff)
    assert caught.value.code == "terms_not_accepted"
    first = terms_publish(title="Terms", body="One", actor=staff)
    terms_accept(partner=partner, terms=first, user=manager)
    terms_publish(title="Terms", body="Two", actor=staff)
    with pytest.raises(ApplicationError) as caught:  # accepted an older version only
        partner_transition(partner=partner, to_status="live", note="Ready.", actor=staff)
    assert caught.value.code == "terms_not_accepted"
    assert Partner.objects.get(pk=partner.pk).status == "sandbox"
    current = UsageTerms.objects.current()
    assert current is not None
    terms_accept(partner=partner, terms=current, user=manager)
    with pytest.raises(ApplicationError) as caught:  # terms accepted, but nothing else on the checklist done
        partner_transition(partner=partner, to_status="live", note="Ready.", actor=staff)
    assert caught.value.code == "checklist_incomplete"
    assert "a published scope, a chatbot capability, an api key, a webhook endpoint missing" in caught.value.message
    assert Partner.objects.get(pk=partner.pk).status == "sandbox"
    partner_transition(partner=partner, to_status="live", note="Pilot first.", actor=staff, missing_confirmed=True)
    assert Partner.objects.get(pk=partner.pk).status == "live"
    entry = AuditEntry.objects.filter(action="partner.status_change").order_by("-id").first()
    assert entry is not None
    assert entry.data["missing"] == ["A published scope", "A chatbot capability", "An API key", "A webhook endpoint"]


# --- Invitations -----------------------------------------------------------------------------------


@pytest.fixture
def bank_and_manager() -> tuple[Partner, Any]:
    partner = PartnerFactory()
    return partner, member_of(partner)


def test_accepting_an_invitation_makes_a_member_with_the_role_and_is_audited(bank_and_manager: Any) -> None:
    partner, manager = bank_and_manager
    _, token = invitation_create(partner=partner, email="Dev@Bank.example", role="developer", actor=manager)
    person = UserFactory(email="dev@bank.example")
    membership = invitation_accept(token=token, user=person, ip="198.51.100.7")
    assert (membership.partner, membership.role) == (partner, "developer")
    assert person.has_perm("partners.manage_partner", partner)
    assert not person.has_perm("partners.manage_members", partner)
    assert actions_about(partner)[-3:] == ["partner.invite", "partner.invitation_accept", "partner.member_add"]
    # The token itself never reaches the trail.
    assert not AuditEntry.objects.filter(data_json__contains=token).exists()


def test_an_invitation_works_once(bank_and_manager: Any) -> None:
    partner, manager = bank_and_manager
    _, token = invitation_create(partner=partner, email="dev@bank.example", role="developer", actor=manager)
    person = UserFactory(email="dev@bank.example")
    invitation_accept(token=token, user=person)
    with pytest.raises(ApplicationError) as caught:
        invitation_accept(token=token, user=person)
    assert (caught.value.code, caught.value.status) == ("invitation_used", 410)


def test_an_invitation_expires_after_seven_days(bank_and_manager: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    partner, manager = bank_and_manager
    _, token = invitation_create(partner=partner, email="dev@bank.example", role="developer", actor=manager)
    person = UserFactory(email="dev@bank.example")
    later(monkeypatch, Invitation.VALID_FOR + timedelta(seconds=1))
    with pytest.raises(ApplicationError) as caught:
        invitation_accept(token=token, user=person)
    assert caught.value.code == "invitation_expired"
    assert not partner.memberships.filter(user=person).exists()


def test_only_the_invited_address_may_accept(bank_and_manager: Any) -> None:
    partner, manager = bank_and_manager
    _, token = invitation_create(partner=partner, email="dev@bank.example", role="developer", actor=manager)
    stranger = UserFactory(email="someone.else@bank.example")
    with pytest.raises(ApplicationError) as caught:
        invitation_accept(token=token, user=stranger)
    assert (caught.value.code, caught.value.status) == ("invitation_email_mismatch", 403)
    assert "dev@bank.example" in caught.value.message
    assert Invitation.objects.get().accepted_at is None
    with pytest.raises(ApplicationError):
        invitation_check(token=token, user=stranger)
    assert invitation_check(token=token).email == "dev@bank.example"


def test_a_new_invitation_replaces_a_pending_one(bank_and_manager: Any) -> None:
    partner, manager = bank_and_manager
    _, first = invitation_create(partner=partner, email="dev@bank.example", role="developer", actor=manager)
    _, second = invitation_create(partner=partner, email="DEV@bank.example", role="compliance", actor=manager)
    person = UserFactory(email="dev@bank.example")
    with pytest.raises(ApplicationError) as caught:
        invitation_accept(token=first, user=person)
    assert caught.value.code == "invitation_revoked"
    assert invitation_accept(token=second, user=person).role == "compliance"


def test_an_unknown_token_is_invalid() -> None:
    with pytest.raises(ApplicationError) as caught:
        invitation_check(token="not-a-real-token")
    assert (caught.value.code, caught.value.status) == ("invitation_invalid", 404)


def test_only_managers_invite(bank_and_manager: Any) -> None:
    partner, _ = bank_and_manager
    developer = member_of(partner, role="developer")
    with pytest.raises(ApplicationError) as caught:
        invitation_create(partner=partner, email="x@bank.example", role="developer", actor=developer)
    assert caught.value.code == "not_allowed"
    assert not Invitation.objects.exists()


# --- Scope versions and compliance review ------------------------------------------------------------


def test_publishing_a_change_makes_version_two_and_supersedes_one() -> None:
    scope = published_scope(PartnerFactory())
    scope_update(scope=scope, actor=None, name="Your balances, updated")
    version = scope_publish(scope=scope, actor=None)
    scope.refresh_from_db()
    assert (version.number, version.status) == (2, DataScopeVersion.Status.PUBLISHED)
    assert scope.published_version == version
    assert scope.versions.get(number=1).status == DataScopeVersion.Status.SUPERSEDED
    assert actions_about(scope) == ["scope.create", "scope.publish", "scope.update", "scope.publish"]


def test_narrowing_records_the_fields_and_purposes_taken_away() -> None:
    scope = published_scope(PartnerFactory(), purposes=["account_updates", "fraud_alerts"])
    scope_update(
        scope=scope,
        actor=None,
        fields=[{"name": "balance", "description": "Current balance"}],
        purposes=["account_updates"],
        max_duration_days=90,
    )
    version = scope_publish(scope=scope, actor=None)
    assert version.narrowed == {
        "fields_removed": ["available"],
        "purposes_removed": ["fraud_alerts"],
        "max_duration_days": [180, 90],
    }


@pytest.fixture
def pending_version() -> DataScopeVersion:
    scope = published_scope(PartnerFactory())
    scope_update(scope=scope, actor=None, sensitivity="high")
    return scope_publish(scope=scope, actor=None)


def test_a_high_sensitivity_version_waits_for_compliance(pending_version: DataScopeVersion) -> None:
    assert pending_version.status == DataScopeVersion.Status.PENDING_REVIEW
    scope = pending_version.scope
    scope.refresh_from_db()
    assert scope.published_version is not None
    assert scope.published_version.number == 1  # people still see version 1
    assert actions_about(scope)[-1] == "scope.submit_for_review"


def test_compliance_approval_publishes_with_the_note(pending_version: DataScopeVersion) -> None:
    reviewer = ComplianceStaffFactory()
    scope_review(version=pending_version, approve=True, note="Wording is clear.", actor=reviewer)
    pending_version.refresh_from_db()
    assert pending_version.status == DataScopeVersion.Status.PUBLISHED
    assert pending_version.approved_by == reviewer
    entry = AuditEntry.objects.filter(action="scope.approve_publish").get()
    assert entry.data["note"] == "Wording is clear."
    assert entry.data["version"] == 2


def test_sending_back_needs_a_note_and_returns_the_version_to_draft(pending_version: DataScopeVersion) -> None:
    reviewer = ComplianceStaffFactory()
    with pytest.raises(ApplicationError) as caught:
        scope_review(version=pending_version, approve=False, note=" ", actor=reviewer)
    assert caught.value.code == "note_required"
    pending_version.refresh_from_db()
    assert pending_version.status == DataScopeVersion.Status.PENDING_REVIEW
    scope_review(version=pending_version, approve=False, note="Say why you need it.", actor=reviewer)
    pending_version.refresh_from_db()
    assert pending_version.status == DataScopeVersion.Status.DRAFT
    assert AuditEntry.objects.get(action="scope.review_reject").data["note"] == "Say why you need it."


def test_only_compliance_reviews_and_only_pending_versions(pending_version: DataScopeVersion) -> None:
    with pytest.raises(ApplicationError) as caught:
        scope_review(version=pending_version, approve=True, note="", actor=PlatformStaffFactory())
    assert caught.value.code == "forbidden"
    reviewer = ComplianceStaffFactory()
    scope_review(version=pending_version, approve=True, note="", actor=reviewer)
    with pytest.raises(ApplicationError) as caught:
        scope_review(version=pending_version, approve=True, note="", actor=reviewer)
    assert caught.value.code == "not_pending_review"


# --- Rotations -------------------------------------------------------------------------------------


def test_a_rotated_webhook_secret_still_signs_for_24_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = webhook_endpoint_for(PartnerFactory())
    old_secret = endpoint.secret
    endpoint, new_secret = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=None)
    assert new_secret != old_secret
    assert endpoint.signing_secrets() == [new_secret, old_secret]
    later(monkeypatch, WebhookEndpoint.ROTATION_OVERLAP - timedelta(minutes=1))
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).signing_secrets() == [new_secret, old_secret]
    later(monkeypatch, timedelta(minutes=2))
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).signing_secrets() == [new_secret]
    entry = AuditEntry.objects.get(action="webhook.rotate_secret")
    assert old_secret not in entry.data_json
    assert new_secret not in entry.data_json


def test_a_rotated_api_key_keeps_working_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    partner = PartnerFactory()
    old_raw = api_key_for(partner)
    old = PartnerApiKey.objects.get()
    new, new_raw = partner_api_key_rotate(key=old, actor=None)
    old.refresh_from_db()
    assert old.is_active
    assert old.expires_at is not None
    assert abs(old.expires_at - (timezone.now() + PartnerApiKey.ROTATION_OVERLAP)) < timedelta(minutes=1)
    assert partner_api_key_for_raw(raw_key=old_raw) == old
    assert partner_api_key_for_raw(raw_key=new_raw) == new
    later(monkeypatch, PartnerApiKey.ROTATION_OVERLAP + timedelta(seconds=1))
    assert partner_api_key_for_raw(raw_key=old_raw) is None
    assert partner_api_key_for_raw(raw_key=new_raw) == new
    with pytest.raises(ApplicationError) as caught:
        partner_api_key_rotate(key=old, actor=None)
    assert caught.value.code == "key_inactive"
