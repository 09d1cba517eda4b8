"""The trail's pages: the list with its switch, filters and pages, an entry, the export, a bank's slice."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from compliance.audit import audit_append, audit_seal
from compliance.models import AuditEntry
from partners.models import PartnerMembership
from partners.tests.factories import member_of
from portal.tests.signing_in import sign_in_verified

from .trail_world import TrailWorld, trail_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> TrailWorld:
    return trail_world()


@pytest.fixture
def officer(client: Client, world: TrailWorld) -> Client:
    return sign_in_verified(client, world.officer)


def _entry_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/compliance/entries/(\d+)/"', html)]


@pytest.mark.parametrize("count", [2, 30])
def test_trail_page_query_count_is_pinned(officer: Client, count: int, django_assert_num_queries: Any) -> None:
    for n in range(count):
        audit_append(action="test.count", data={"n": n})
    audit_seal()
    officer.get("/compliance/")  # the actions list is cached after the first look
    # Session, user, device, groups, memberships (the nav); the banks, the page, the latest run.
    with django_assert_num_queries(8):
        response = officer.get("/compliance/", {"kind": "all", "action": "test.count"})
    assert response.status_code == 200
    assert len(_entry_ids(response.content.decode())) == count


def test_the_page_shows_peoples_actions_first_and_switches(officer: Client, world: TrailWorld) -> None:
    html = officer.get("/compliance/").content.decode()
    assert set(_entry_ids(html)) >= world.ids("alice_revoke", "officer_on_b")
    assert not set(_entry_ids(html)) & world.ids("machine_on_a", "system_expiry")
    assert 'aria-current="page">People&#x27;s actions' in html
    html = officer.get("/compliance/", {"kind": "machine"}).content.decode()
    assert world.ids("machine_on_a", "system_expiry") <= set(_entry_ids(html))
    assert not set(_entry_ids(html)) & world.ids("alice_revoke")


def test_filtering_finds_one_persons_revoke_and_links_its_page(officer: Client, world: TrailWorld) -> None:
    response = officer.get("/compliance/", {"person": world.alice.email, "action": "test.revoke"})
    assert _entry_ids(response.content.decode()) == [world.named["alice_revoke"].pk]
    page = officer.get(f"/compliance/entries/{world.named['alice_revoke'].pk}/").content.decode()
    assert "<h1>Audit entry" in page
    assert "active" in page
    assert "revoked" in page
    assert "Sealed and consistent" in page
    assert officer.get("/compliance/entries/999999/").status_code == 404


def test_pages_follow_older_and_newer(officer: Client, world: TrailWorld) -> None:
    ids = [audit_append(action="test.many", actor=world.officer).pk for _ in range(120)]
    first = officer.get("/compliance/", {"action": "test.many"}).content.decode()
    assert _entry_ids(first) == ids[:69:-1]
    older = re.search(r'href="\?([^"]*before=\d+)" rel="next"', first)
    assert older is not None
    second = officer.get("/compliance/?" + older.group(1).replace("&amp;", "&")).content.decode()
    assert _entry_ids(second) == ids[69:19:-1]
    newer = re.search(r'href="\?([^"]*after=\d+)" rel="prev"', second)
    assert newer is not None
    back = officer.get("/compliance/?" + newer.group(1).replace("&amp;", "&")).content.decode()
    assert _entry_ids(back) == ids[:69:-1]


@pytest.mark.parametrize(
    "query",
    [
        {"since": "1900-01-01"},
        {"since": "2001-01-01", "until": "2099-01-01"},
        {"actor": "x" * 300},
        {"target": "';drop table"},
        {"before": "-1"},
        {"after": "NaN"},
        {"kind": "robots"},
        {"bank": "\x00"},
    ],
)
def test_bad_filters_answer_a_clear_error_not_a_500(officer: Client, query: dict[str, str]) -> None:
    response = officer.get("/compliance/", query)
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert officer.get("/compliance/export/", query).status_code == 400


def test_export_of_the_filter_streams_csv(officer: Client, world: TrailWorld) -> None:
    response = officer.get("/compliance/export/", {"kind": "all", "bank": world.bank_a.slug})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {int(row["id"]) for row in rows} >= world.ids("officer_on_a", "machine_on_a")
    assert {row["bank_id"] for row in rows} == {str(world.bank_a.pk)}
    export = AuditEntry.objects.get(action="audit.export")
    assert export.data["filter"] == {"kind": "all", "bank": world.bank_a.pk}


# --- A bank's slice ------------------------------------------------------------------------------


@pytest.fixture
def contact_a(world: TrailWorld) -> Client:
    client = Client()
    return sign_in_verified(client, member_of(world.bank_a, PartnerMembership.Role.COMPLIANCE))


def _bank_ids(html: str, slug: str) -> set[int]:
    return {int(pk) for pk in re.findall(rf'href="/bank/{slug}/trail/(\d+)/"', html)}


def test_a_banks_contact_sees_only_their_banks_entries(contact_a: Client, world: TrailWorld) -> None:
    slug = world.bank_a.slug
    html = contact_a.get(f"/bank/{slug}/trail/", {"kind": "all"}).content.decode()
    found = _bank_ids(html, slug)
    assert world.ids("officer_on_a", "machine_on_a") <= found
    assert not found & world.ids("officer_on_b", "machine_on_b", "bob_grant", "alice_grant")
    assert set(AuditEntry.objects.filter(pk__in=found).values_list("partner_id", flat=True)) == {world.bank_a.pk}
    # The query string cannot widen it: a bank filter is ignored, and there is no bank field.
    html = contact_a.get(f"/bank/{slug}/trail/", {"kind": "all", "bank": world.bank_b.slug}).content.decode()
    assert _bank_ids(html, slug) == found
    assert 'name="bank"' not in html
    # Another bank's slice, export or entry is not theirs to see.
    assert contact_a.get(f"/bank/{world.bank_b.slug}/trail/").status_code == 404
    assert contact_a.get(f"/bank/{world.bank_b.slug}/trail/export/").status_code == 404
    assert contact_a.get(f"/bank/{slug}/trail/{world.named['officer_on_b'].pk}/").status_code == 404
    assert contact_a.get(f"/bank/{slug}/trail/{world.named['officer_on_a'].pk}/").status_code == 200


def test_a_banks_export_is_its_slice_only_and_recorded_in_it(contact_a: Client, world: TrailWorld) -> None:
    slug = world.bank_a.slug
    response = contact_a.get(f"/bank/{slug}/trail/export/", {"kind": "all", "bank": world.bank_b.slug})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows
    assert {row["bank_id"] for row in rows} == {str(world.bank_a.pk)}
    export = AuditEntry.objects.get(action="audit.export")
    assert export.partner_id == world.bank_a.pk  # the bank sees its own downloads in its slice
    cache.clear()  # the list of actions is kept a few minutes; this one is new
    assert (
        contact_a.get(f"/bank/{slug}/trail/", {"action": "audit.export"}).content.decode().count("audit.export</code>")
        == 1
    )


def test_a_developer_of_the_bank_is_refused_for_their_role_and_a_manager_reads(world: TrailWorld) -> None:
    client = sign_in_verified(Client(), member_of(world.bank_a, PartnerMembership.Role.DEVELOPER))
    assert client.get(f"/bank/{world.bank_a.slug}/trail/").status_code == 403
    manager = sign_in_verified(Client(), member_of(world.bank_a, PartnerMembership.Role.MANAGER))
    assert manager.get(f"/bank/{world.bank_a.slug}/trail/").status_code == 200
    assert AuditEntry.objects.filter(action="partner.refused", data_json__contains="read_trail").exists()


def test_an_unknown_person_in_a_banks_filter_says_nothing_about_them(contact_a: Client, world: TrailWorld) -> None:
    slug = world.bank_a.slug
    for email in (world.bob.email, "nobody@example.test"):
        html = contact_a.get(f"/bank/{slug}/trail/", {"person": email}).content.decode()
        assert "There is a problem" not in html
        assert "No entries match" in html


@pytest.mark.parametrize("count", [2, 30])
def test_bank_slice_query_count_is_pinned(
    contact_a: Client, world: TrailWorld, count: int, django_assert_num_queries: Any
) -> None:
    for n in range(count):
        audit_append(action="test.count", target=world.bank_a, data={"n": n})
    contact_a.get(f"/bank/{world.bank_a.slug}/trail/")
    # Session, user, device, groups, memberships; the bank, its permissions (the user's, the groups'); the page.
    with django_assert_num_queries(9):
        response = contact_a.get(f"/bank/{world.bank_a.slug}/trail/", {"kind": "all", "action": "test.count"})
    assert len(_bank_ids(response.content.decode(), world.bank_a.slug)) == count
