"""`seed_scale`: a small world seeded by COPY holds every part in every state, its keys hold, its chain verifies."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from compliance.audit import audit_seal, audit_verify
from compliance.models import AuditEntry
from consent.models import ConsentEvent, ConsentGrant
from consent.rules import consent_check
from delivery.models import Delivery, InboxMessage, PartnerEvent
from partners.models import DataScopeVersion, Partner
from portal.scale import WorldRefused, seed_world
from portal.scale.integrity import TABLES, dangling_references, row_counts
from portal.scale.people import draw_people
from portal.scale.plan import GRANTS_PER_PERSON, Bank, Clock, Sizes, World
from portal.scale.traffic import draw_events
from portal.scale.trail import draw_trail

# Seeding commits (its checkpoint is signed after commit), so these tests run outside a test transaction.
DB = pytest.mark.django_db(transaction=True)
PEOPLE = 200
UNTIL = dt.date(2026, 6, 1)


@pytest.fixture
def world() -> dict[str, int]:
    call_command("seed_scale", people=PEOPLE, seed=7, until=UNTIL, verbosity=0, stdout=StringIO())
    with connection.cursor() as cursor:
        return row_counts(cursor)


@DB
def test_every_table_holds_its_share(world: dict[str, int]) -> None:
    sizes = Sizes(PEOPLE)
    assert world["portal_user"] > PEOPLE
    assert world["partners_partner"] == sizes.banks
    assert 1.1 * PEOPLE < world["consent_accountlink"] < 1.5 * PEOPLE
    assert 0.8 * GRANTS_PER_PERSON * PEOPLE < world["consent_consentgrant"] < 1.2 * GRANTS_PER_PERSON * PEOPLE
    assert world["compliance_auditentry"] == sizes.audit_entries == world["compliance_auditchainlink"]
    # Two deliveries an event (inbox and gateway), about ten events a person.
    assert world["delivery_delivery"] == 2 * world["delivery_partnerevent"]
    assert 0.8 * sizes.events < world["delivery_partnerevent"] < 1.2 * sizes.events
    assert 0 < world["delivery_inboxmessage"] <= world["delivery_partnerevent"]
    for table in ("consent_consentevent", "delivery_deliveryattempt", "partners_datascopeversion",
                  "partners_termsacceptance", "partners_partnerapikey", "partners_webhookendpoint"):  # fmt: skip
        assert world[table] > 0, table


@DB
def test_every_state_is_present(world: dict[str, int]) -> None:
    assert set(Partner.objects.values_list("status", flat=True)) == set(Partner.Status.values)
    assert set(ConsentGrant.objects.values_list("status", flat=True)) == set(ConsentGrant.Status.values)
    assert set(DataScopeVersion.objects.values_list("status", flat=True)) == set(DataScopeVersion.Status.values)
    delivered = set(Delivery.objects.values_list("status", flat=True))
    assert delivered >= {"delivered", "failed", "dead", "cancelled", "expired"}
    assert set(PartnerEvent.objects.values_list("type", flat=True)) == {
        "balance_update", "fraud_alert", "receipt", "shipping_update",
    }  # fmt: skip
    kinds = set(ConsentEvent.objects.values_list("kind", flat=True))
    assert kinds >= {"linked", "granted", "revoked", "expired", "deletion_attested"}
    by = Counter(AuditEntry.objects.values_list("actor_type", flat=True))
    assert by["user"]
    assert by["api_key"]
    assert by["system"]
    assert InboxMessage.objects.filter(read_at__isnull=True).exists()
    assert InboxMessage.objects.filter(read_at__isnull=False).exists()


@DB
def test_every_key_points_at_a_row(world: dict[str, int]) -> None:
    with connection.cursor() as cursor:
        assert dangling_references(cursor) == {}


@DB
def test_the_seeded_trail_verifies_against_its_checkpoint(world: dict[str, int]) -> None:
    assert audit_seal() == 0  # nothing left for the sequencer: every entry is in the chain
    report = audit_verify()
    assert report.ok, report.reason
    assert report.checked == world["compliance_auditentry"]
    assert report.newest_checkpoint is not None
    assert report.newest_checkpoint.size == report.checked
    # Ids follow the clock (to the second), as entries written one by one would.
    times = [at.replace(microsecond=0) for at in AuditEntry.objects.order_by("id").values_list("created_at", flat=True)]
    assert times == sorted(times)


@DB
def test_an_edited_entry_breaks_the_seeded_chain(world: dict[str, int]) -> None:
    """The check can fail: the seeded chain is proven, not assumed."""
    from compliance import triggers

    with connection.cursor() as cursor:
        for statement in triggers.remove_statements(connection):
            cursor.execute(statement)
        cursor.execute(
            "UPDATE compliance_auditentry SET action = 'consent.tampered'"
            " WHERE id = (SELECT min(id) + 5 FROM compliance_auditentry)"
        )
        for statement in triggers.install_statements(connection):
            cursor.execute(statement)
    report = audit_verify()
    assert not report.ok
    assert report.broken_at == 6


@DB
def test_the_consent_check_answers_for_seeded_grants(world: dict[str, int]) -> None:
    live = ConsentGrant.objects.filter(partner__status="live")
    active = live.filter(status="active").first()
    revoked = live.filter(status="revoked").first()
    assert active is not None
    assert revoked is not None
    # Revoked grants whose link holds no other grant for that purpose must be refused.
    assert consent_check(partner_id=active.partner_id, link_id=active.link_id, message_type=active.message_types[0])
    other = live.filter(link_id=revoked.link_id, purpose=revoked.purpose, status="active").exists()
    answer = consent_check(
        partner_id=revoked.partner_id, link_id=revoked.link_id, message_type=revoked.message_types[0]
    )
    assert answer is other


def _drawn(seed: int) -> World:
    world = World(seed=seed, sizes=Sizes(300), clock=Clock(UNTIL), first=dict.fromkeys(TABLES, 1))
    world.banks = [Bank(id=number, slug=f"b{number}", name="B", status="live", created=world.clock.start)
                   for number in range(4)]  # fmt: skip
    world.people_banks = [0, 1, 2, 3]
    for bank in world.banks:
        bank.scopes = [(slot, slot, "balances.read", 1) for slot in range(4)]
    draw_people(world)
    draw_events(world)
    draw_trail(world)
    return world


def test_a_seed_gives_one_world() -> None:
    first, again, other = _drawn(5), _drawn(5), _drawn(6)
    for column in ("person_joined", "link_bank", "grant_status", "grant_at", "event_at", "audit_keys"):
        assert getattr(first, column) == getattr(again, column), column
    assert first.grant_at != other.grant_at


@DB
def test_appending_continues_the_chain() -> None:
    seed_world(people=30, seed=3, until=UNTIL)
    first = AuditEntry.objects.count()
    assert first == Sizes(30).audit_entries
    call_command("seed_scale", people=30, seed=3, until=UNTIL, append=True, verbosity=0, stdout=StringIO())
    # Beside the first world: fresh ids, the chain continues after it and still verifies.
    assert AuditEntry.objects.count() == 2 * first
    report = audit_verify()
    assert report.ok, report.reason
    assert report.checked == 2 * first


@DB
def test_the_world_loads_with_foreign_keys_checked_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a superuser the keys are checked as rows arrive: every part is written after what it points at."""
    from portal.scale import world as seeding

    def tune_without_superuser(cursor: object) -> bool:
        return False

    monkeypatch.setattr(seeding, "_tune", tune_without_superuser)
    report = seed_world(people=40, seed=2, until=UNTIL, processes=2)
    assert not report.fast_keys
    assert report.counts["delivery_delivery"] > 0
    assert audit_verify().ok


@DB
def test_a_database_with_data_is_refused_without_append() -> None:
    seed_world(people=10, seed=1, until=UNTIL)
    with pytest.raises(CommandError, match="already holds data"):
        call_command("seed_scale", people=10, verbosity=0, stdout=StringIO())


@DB
def test_sqlite_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(WorldRefused, match="needs PostgreSQL"):
        seed_world(people=10)


@DB
def test_seeded_accounts_can_act(world: dict[str, int]) -> None:
    from django.contrib.auth import authenticate
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from partners.models import PartnerMembership
    from portal.scale.banks import PASSWORD, totp_key_of
    from portal.second_factor import totp

    membership = PartnerMembership.objects.select_related("user", "partner").get(
        role="manager", partner__status="live", partner_id=Partner.objects.filter(status="live").order_by("id")[0].id
    )
    assert membership.user.has_perm("partners.manage_members", membership.partner)
    device = TOTPDevice.objects.get(user=membership.user, confirmed=True)
    assert device.verify_token(totp.current_code(totp_key_of(7, membership.user.pk)))
    person = ConsentGrant.objects.select_related("user").first().user
    assert authenticate(email=person.email, password=PASSWORD) == person


@DB
def test_consent_events_agree_with_their_grants_and_their_receipts_verify(world: dict[str, int]) -> None:
    from consent.receipts import receipt_document, receipt_verifies

    revocations = ConsentEvent.objects.filter(kind="revoked").select_related("grant")
    assert revocations.exists()
    for event in revocations:
        assert event.actor == event.grant.revoked_by
        assert event.created_at == event.grant.revoked_at
    assert {event.actor for event in revocations} > {"user"}
    for event in ConsentEvent.objects.order_by("?")[:50]:
        assert receipt_verifies(receipt_document(event))
