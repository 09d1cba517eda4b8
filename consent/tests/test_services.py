"""Consent services: every change is atomic, audited, receipted and signalled; refusals change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from compliance.models import AuditEntry
from consent import signals
from consent.models import AccountLink, ConsentEvent, ConsentGrant
from consent.receipts import receipt_document, receipt_verifies
from consent.rules import consent_check
from consent.services import (
    AuthorisationRefused,
    GrantChoice,
    consent_attest_deletion,
    consent_expire_due,
    consent_grant,
    consent_narrow,
    consent_renew,
    consent_revoke,
    consent_revoke_all_at_bank,
    consent_revoke_everything,
    consent_send_expiry_reminders,
    link_unlink,
)
from consent.tests.factories import grant_for, link_for, live_bank
from partners.models import Partner, PartnerApiKey
from partners.services import (
    partner_api_key_create,
    partner_transition,
    scope_publish,
    scope_retire,
    scope_update,
    terms_accept,
    terms_publish,
)
from partners.tests.factories import PartnerFactory, member_of, published_scope
from portal.errors import ApplicationError, Conflict, NotFound
from portal.models import User
from portal.tests.factories import ComplianceStaffFactory, PlatformStaffFactory, UserFactory

pytestmark = pytest.mark.django_db

CARD_CONTENT: dict[str, Any] = {
    "name": "Your card payments",
    "category": "card_transactions",
    "purposes": ["receipts_shipping", "customer_service"],
    "max_duration_days": 365,
}


@pytest.fixture
def changes() -> Iterator[list[dict[str, Any]]]:
    """Collect every consent_changed signal."""
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        sent.append({key: value for key, value in kwargs.items() if key != "signal"})

    signals.consent_changed.connect(receiver, dispatch_uid="test-changes")
    yield sent
    signals.consent_changed.disconnect(dispatch_uid="test-changes")


@pytest.fixture
def bank() -> Partner:
    bank = live_bank()
    published_scope(bank, "card_transactions.read", **CARD_CONTENT)
    return bank


@pytest.fixture
def person() -> User:
    return UserFactory()


@pytest.fixture
def link(bank: Partner, person: User) -> AccountLink:
    return link_for(person, bank)


def _choices(bank: Partner) -> list[GrantChoice]:
    balances = bank.scopes.get(code="balances.read").published_version
    card = bank.scopes.get(code="card_transactions.read").published_version
    assert balances is not None
    assert card is not None
    return [
        GrantChoice(balances.pk, "account_updates", ("balance_update",)),
        GrantChoice(card.pk, "receipts_shipping", ("receipt",)),
    ]


def _actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def test_granting_two_scopes_records_each_with_a_receipt_an_audit_entry_and_one_signal(
    link: AccountLink,
    bank: Partner,
    person: User,
    changes: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    staff = PlatformStaffFactory()
    terms = terms_publish(title="Terms", body="Be good.", actor=staff)
    terms_accept(partner=bank, terms=terms, user=member_of(bank))
    with django_capture_on_commit_callbacks(execute=True):
        grants = consent_grant(user=person, link=link, choices=_choices(bank), ip="203.0.113.9")
    assert [(g.scope.code, g.purpose, g.message_types) for g in grants] == [
        ("balances.read", "account_updates", ["balance_update"]),
        ("card_transactions.read", "receipts_shipping", ["receipt"]),
    ]
    balances, card = grants
    assert balances.expires_at == balances.granted_at + timedelta(days=180)
    assert card.expires_at == card.granted_at + timedelta(days=365)
    assert {g.terms for g in grants} == {terms}
    assert _actions().count("consent.grant") == 2
    assert changes == [
        {"grant_ids": [balances.pk, card.pk], "link_id": link.pk, "partner_id": bank.pk, "event": "granted"}
    ]
    events = ConsentEvent.objects.filter(kind="granted").order_by("pk")
    assert [e.grant for e in events] == grants
    document = receipt_document(events[1])
    assert receipt_verifies(document)
    assert document["receipt"]["grant"]["message_types"] == ["receipt"]
    assert document["receipt"]["grant"]["usage_terms_version"] == terms.version
    assert document["receipt"]["bank"]["slug"] == bank.slug
    tampered = json.loads(json.dumps(document))
    tampered["receipt"]["grant"]["message_types"].append("shipping_update")
    assert not receipt_verifies(tampered)


def test_a_scope_of_another_bank_in_a_tampered_form_is_refused_audited_and_changes_nothing(
    link: AccountLink, person: User
) -> None:
    other = live_bank()
    foreign = other.scopes.get().published_version
    assert foreign is not None
    with pytest.raises(AuthorisationRefused) as refused:
        consent_grant(user=person, link=link, choices=[GrantChoice(foreign.pk, "account_updates", ("balance_update",))])
    assert refused.value.code == "scope_not_offered"
    assert not ConsentGrant.objects.exists()
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry is not None
    assert entry.action == "consent.refused"
    assert json.loads(entry.data_json)["code"] == "scope_not_offered"


def test_one_bad_choice_grants_nothing_at_all(link: AccountLink, bank: Partner, person: User) -> None:
    good, _card = _choices(bank)
    with pytest.raises(AuthorisationRefused):
        consent_grant(user=person, link=link, choices=[good, GrantChoice(good.scope_version_id, "fraud_alerts")])
    assert not ConsentGrant.objects.exists()
    assert "consent.grant" not in _actions()


def test_someone_elses_link_is_refused_and_audited(link: AccountLink, bank: Partner) -> None:
    intruder = UserFactory()
    with pytest.raises(AuthorisationRefused) as refused:
        consent_grant(user=intruder, link=link, choices=_choices(bank))
    assert refused.value.code == "not_yours"
    assert not ConsentGrant.objects.exists()
    assert _actions()[-1] == "consent.refused"


@pytest.mark.parametrize(
    ("types", "code"),
    [((), "message_types_required"), (("fraud_alert",), "message_types_required")],
)
def test_a_purpose_needs_its_own_message_types(
    link: AccountLink, bank: Partner, person: User, types: tuple[str, ...], code: str
) -> None:
    card = bank.scopes.get(code="card_transactions.read").published_version
    assert card is not None
    with pytest.raises(ApplicationError) as error:
        consent_grant(user=person, link=link, choices=[GrantChoice(card.pk, "receipts_shipping", types)])
    assert error.value.code == code
    assert not ConsentGrant.objects.exists()


def test_nothing_ticked_is_refused(link: AccountLink, person: User) -> None:
    with pytest.raises(ApplicationError) as error:
        consent_grant(user=person, link=link, choices=[])
    assert error.value.code == "nothing_chosen"


def test_granting_the_same_thing_twice_is_refused_clearly(link: AccountLink, bank: Partner, person: User) -> None:
    consent_grant(user=person, link=link, choices=_choices(bank))
    with pytest.raises(Conflict) as error:
        consent_grant(user=person, link=link, choices=_choices(bank))
    assert error.value.code == "already_granted"
    assert ConsentGrant.objects.count() == 2


def test_a_version_the_person_did_not_see_is_refused(link: AccountLink, bank: Partner, person: User) -> None:
    scope = bank.scopes.get(code="balances.read")
    seen = scope.published_version
    assert seen is not None
    scope_update(scope=scope, actor=None, name="Your balances, worded anew")
    scope_publish(scope=scope, actor=None)
    with pytest.raises(Conflict) as error:
        consent_grant(user=person, link=link, choices=[GrantChoice(seen.pk, "account_updates", ("balance_update",))])
    assert error.value.code == "scope_changed"


def test_a_sandbox_bank_is_only_for_its_own_members() -> None:
    bank = PartnerFactory(status=Partner.Status.SANDBOX)
    published_scope(bank)
    tester = member_of(bank)
    grant_for(link_for(tester, bank))
    stranger = UserFactory()
    with pytest.raises(AuthorisationRefused) as refused:
        link_for(stranger, bank)
    assert refused.value.code == "bank_unavailable"


def test_revoking_ends_the_grant_at_commit_and_the_bank_owes_a_deletion(
    link: AccountLink, person: User, changes: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    grant = grant_for(link)
    assert consent_check(partner_id=link.partner_id, link_id=link.pk, message_type="balance_update")
    with django_capture_on_commit_callbacks(execute=True):
        consent_revoke(grant=grant, actor=person, ip="203.0.113.9")
    grant.refresh_from_db()
    assert grant.status == "revoked"
    assert grant.revoked_by == "user"
    assert grant.deletion_due_at == grant.revoked_at + timedelta(days=30)
    assert not consent_check(partner_id=link.partner_id, link_id=link.pk, message_type="balance_update")
    assert changes[-1] == {
        "grant_ids": [grant.pk],
        "link_id": link.pk,
        "partner_id": link.partner_id,
        "event": "revoked",
    }
    assert ConsentEvent.objects.filter(grant=grant, kind="revoked").count() == 1
    assert _actions()[-1] == "consent.revoke"


def test_revoking_someone_elses_grant_is_refused_audited_and_changes_nothing(link: AccountLink) -> None:
    grant = grant_for(link)
    with pytest.raises(AuthorisationRefused):
        consent_revoke(grant=grant, actor=UserFactory())
    grant.refresh_from_db()
    assert grant.status == "active"
    assert _actions()[-1] == "consent.refused"


def test_revoking_twice_says_so_and_changes_nothing(link: AccountLink, person: User) -> None:
    grant = grant_for(link)
    consent_revoke(grant=grant, actor=person)
    events = ConsentEvent.objects.count()
    with pytest.raises(Conflict) as error:
        consent_revoke(grant=grant, actor=person)
    assert error.value.code == "grant_not_active"
    assert ConsentEvent.objects.count() == events


def test_staff_revoke_as_themselves_only() -> None:
    bank = live_bank()
    grant = grant_for(link_for(UserFactory(), bank))
    with pytest.raises(AuthorisationRefused):
        consent_revoke(grant=grant, actor=UserFactory(), by="compliance")
    consent_revoke(grant=grant, actor=ComplianceStaffFactory(), by="compliance", reason="Data-subject request 42.")
    grant.refresh_from_db()
    assert (grant.revoked_by, grant.revoke_reason) == ("compliance", "Data-subject request 42.")


def test_withdrawing_a_banks_all_and_then_everything(
    bank: Partner, person: User, changes: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    first = link_for(person, bank)
    consent_grant(user=person, link=first, choices=_choices(bank))
    second_account = link_for(person, bank, 1)  # "a bank" means every account the person linked there
    grant_for(second_account)
    other_bank = live_bank()
    other = link_for(person, other_bank)
    grant_for(other)
    with django_capture_on_commit_callbacks(execute=True):
        revoked = consent_revoke_all_at_bank(user=person, partner_id=bank.pk, actor=person)
    assert len(revoked) == 3
    assert {g.link_id for g in revoked} == {first.pk, second_account.pk}
    assert ConsentGrant.objects.filter(status="active").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        everything = consent_revoke_everything(user=person, actor=person)
    assert len(everything) == 1
    assert not ConsentGrant.objects.filter(status="active").exists()
    assert [c["link_id"] for c in changes if c["event"] == "revoked"] == [first.pk, second_account.pk, other.pk]
    assert "consent.revoke_everything" in _actions()
    with pytest.raises(AuthorisationRefused):
        consent_revoke_everything(user=person, actor=UserFactory())


def test_unlinking_revokes_every_grant_on_the_link(
    link: AccountLink,
    bank: Partner,
    person: User,
    changes: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    grants = consent_grant(user=person, link=link, choices=_choices(bank))
    with django_capture_on_commit_callbacks(execute=True):
        link_unlink(link=link, actor=person)
    link.refresh_from_db()
    assert link.status == "unlinked"
    assert link.unlinked_at is not None
    assert set(ConsentGrant.objects.values_list("status", flat=True)) == {"revoked"}
    assert changes[-1]["event"] == "unlinked"
    assert changes[-1]["grant_ids"] == [g.pk for g in grants]
    assert ConsentEvent.objects.filter(link=link, kind="unlinked").count() == 1
    with pytest.raises(Conflict):
        link_unlink(link=link, actor=person)
    with pytest.raises(AuthorisationRefused):
        link_unlink(link=link_for(person, bank, 1), actor=UserFactory())


def test_renewing_extends_from_today_and_pins_the_version_read(
    link: AccountLink, person: User, changes: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    grant = grant_for(link)
    ConsentGrant.objects.filter(pk=grant.pk).update(
        granted_at=timezone.now() - timedelta(days=170), expires_at=timezone.now() + timedelta(days=10)
    )
    scope = grant.scope
    scope_update(scope=scope, actor=None, description="Clearer words.")
    new_version = scope_publish(scope=scope, actor=None)
    with pytest.raises(Conflict):
        consent_renew(grant=grant, actor=person, scope_version_id=grant.scope_version_id)
    with django_capture_on_commit_callbacks(execute=True):
        renewed = consent_renew(grant=grant, actor=person, scope_version_id=new_version.pk)
    assert renewed.scope_version == new_version
    assert renewed.expires_at > timezone.now() + timedelta(days=179)
    assert changes[-1]["event"] == "granted"
    assert ConsentEvent.objects.filter(grant=grant, kind="renewed").count() == 1
    with pytest.raises(AuthorisationRefused):
        consent_renew(grant=grant, actor=UserFactory())


def test_switching_a_message_type_off_narrows_the_grant(
    bank: Partner, link: AccountLink, changes: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    grant = grant_for(
        link, bank.scopes.get(code="card_transactions.read"), message_types=["receipt", "shipping_update"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        consent_narrow(grant=grant, message_types=["receipt"], actor=link.user)
    assert not consent_check(partner_id=bank.pk, link_id=link.pk, message_type="shipping_update")
    assert consent_check(partner_id=bank.pk, link_id=link.pk, message_type="receipt")
    assert changes[-1]["event"] == "narrowed"
    with pytest.raises(ApplicationError) as error:
        consent_narrow(grant=grant, message_types=["receipt", "shipping_update"], actor=link.user)
    assert error.value.code == "widening_needs_consent"


def test_expiry_ends_grants_past_their_date_once(
    link: AccountLink, changes: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    grant = grant_for(link)
    later = grant.expires_at + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert consent_expire_due(at=grant.expires_at - timedelta(minutes=1)) == 0
        assert consent_expire_due(at=later) == 1
        assert consent_expire_due(at=later) == 0
    grant.refresh_from_db()
    assert grant.status == "expired"
    assert grant.deletion_due_at == later + timedelta(days=30)
    assert changes[-1] == {
        "grant_ids": [grant.pk],
        "link_id": link.pk,
        "partner_id": link.partner_id,
        "event": "expired",
    }
    assert ConsentEvent.objects.filter(grant=grant, kind="expired", actor="system").count() == 1


def test_reminders_go_out_once_within_thirty_days_of_expiry(
    link: AccountLink, django_capture_on_commit_callbacks: Any
) -> None:
    grant = grant_for(link)
    reminded_ids: list[list[int]] = []
    signals.consent_expiry_reminded.connect(
        lambda sender, **kw: reminded_ids.append(kw["grant_ids"]), dispatch_uid="test-reminded", weak=False
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert consent_send_expiry_reminders(at=grant.expires_at - timedelta(days=31)) == 0
            assert consent_send_expiry_reminders(at=grant.expires_at - timedelta(days=29)) == 1
            assert consent_send_expiry_reminders(at=grant.expires_at - timedelta(days=28)) == 0
    finally:
        signals.consent_expiry_reminded.disconnect(dispatch_uid="test-reminded")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [link.user.email]
    assert "renew" in mail.outbox[0].body
    assert reminded_ids == [[grant.pk]]
    grant.refresh_from_db()
    assert grant.reminder_sent_at is not None


def test_a_bank_attests_deletion_only_after_the_grant_ended(link: AccountLink, person: User) -> None:
    grant = grant_for(link)
    key, _raw = partner_api_key_create(partner=link.partner, name="k", environment=PartnerApiKey.Environment.SANDBOX)
    with pytest.raises(Conflict) as error:
        consent_attest_deletion(grant=grant, partner=link.partner, actor=key)
    assert error.value.code == "consent_active"
    consent_revoke(grant=grant, actor=person)
    attested = consent_attest_deletion(grant=grant, partner=link.partner, actor=key, note="Purged from store A.")
    assert attested.deletion_attested_at is not None
    again = consent_attest_deletion(grant=grant, partner=link.partner, actor=key)
    assert again.deletion_attested_at == attested.deletion_attested_at
    assert ConsentEvent.objects.filter(grant=grant, kind="deletion_attested", actor="bank").count() == 1
    with pytest.raises(NotFound):
        consent_attest_deletion(grant=grant, partner=live_bank(), actor=key)


def test_a_retired_scope_ends_its_grants(link: AccountLink, django_capture_on_commit_callbacks: Any) -> None:
    grant = grant_for(link)
    with django_capture_on_commit_callbacks(execute=True):
        scope_retire(scope=grant.scope, actor=None)
    grant.refresh_from_db()
    assert (grant.status, grant.revoked_by) == ("revoked", "bank")


def test_a_purpose_the_bank_stops_offering_ends_its_grants(
    bank: Partner, link: AccountLink, django_capture_on_commit_callbacks: Any
) -> None:
    card = bank.scopes.get(code="card_transactions.read")
    chat = grant_for(link, card, purpose="customer_service")
    receipts = grant_for(link, card, purpose="receipts_shipping")
    scope_update(scope=card, actor=None, purposes=["receipts_shipping"])
    with django_capture_on_commit_callbacks(execute=True):
        scope_publish(scope=card, actor=None)
    chat.refresh_from_db()
    receipts.refresh_from_db()
    assert (chat.status, chat.revoked_by) == ("revoked", "system")
    assert receipts.status == "active"


def test_a_withdrawn_bank_ends_every_grant(link: AccountLink, django_capture_on_commit_callbacks: Any) -> None:
    grant = grant_for(link)
    with django_capture_on_commit_callbacks(execute=True):
        partner_transition(partner=link.partner, to_status="withdrawn", note="Left.", actor=PlatformStaffFactory())
    grant.refresh_from_db()
    assert (grant.status, grant.revoked_by) == ("revoked", "platform")
