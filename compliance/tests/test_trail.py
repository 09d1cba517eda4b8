"""The trail's reads: each filter finds its entries and nothing else, keyset pages, detail, CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from compliance.audit import audit_append
from compliance.forms import BankTrailFilterForm, TrailFilterForm
from compliance.models import AuditEntry
from compliance.trail.detail import BROKEN, SEALED, UNSEALED, entry_detail
from compliance.trail.export import csv_lines, safe_cell, trail_export
from compliance.trail.filters import EVERYTHING, MACHINE, TrailFilter, known_actions, trail_entries
from compliance.trail.pages import trail_page
from compliance.triggers import remove_statements

from .trail_world import DAY, TrailWorld, trail_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> TrailWorld:
    return trail_world()


def _found(trail: TrailFilter) -> set[int]:
    """Return the ids of the world's own entries (`test.*`) the filter selects."""
    return set(trail_entries(trail).filter(action__startswith="test.").values_list("id", flat=True))


def _form(world: TrailWorld, **data: str) -> TrailFilterForm:
    banks = [(world.bank_a.slug, "Alpha", world.bank_a.pk), (world.bank_b.slug, "Beta", world.bank_b.pk)]
    return TrailFilterForm(data, banks=banks, actions=known_actions(fresh=True))


def _filter(world: TrailWorld, **data: str) -> TrailFilter:
    form = _form(world, **data)
    assert form.is_valid(), form.errors
    return form.trail_filter()


PEOPLE_ENTRIES = ("alice_grant", "officer_on_a", "bob_grant", "officer_on_b", "alice_revoke", "bob_revoke")


def test_the_switch_people_machine_everything(world: TrailWorld) -> None:
    assert _found(_filter(world)) == world.ids(*PEOPLE_ENTRIES)  # people's actions by default
    assert _found(_filter(world, kind=MACHINE)) == world.ids("machine_on_a", "system_expiry", "machine_on_b")
    assert _found(_filter(world, kind=EVERYTHING)) == {e.pk for e in world.named.values()}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (lambda w: {"actor": "ALICE@example.test"}, ("alice_grant", "alice_revoke")),
        (lambda w: {"actor": w.officer.email}, ("officer_on_a", "officer_on_b")),
        (lambda w: {"bank": w.bank_a.slug, "kind": "all"}, ("officer_on_a", "machine_on_a")),
        (lambda w: {"bank": w.bank_b.slug}, ("officer_on_b",)),
        (lambda w: {"person": "alice@example.test", "kind": "all"}, ("alice_grant", "system_expiry", "alice_revoke")),
        (lambda w: {"person": str(w.bob.pk)}, ("bob_grant", "bob_revoke")),
        (lambda w: {"action": "test.revoke"}, ("alice_revoke", "bob_revoke")),
        (lambda w: {"target": f"partners.partner:{w.bank_b.pk}", "kind": "all"}, ("officer_on_b", "machine_on_b")),
        (lambda w: {"person": "alice@example.test", "action": "test.revoke"}, ("alice_revoke",)),
    ],
    ids=["actor", "actor-staff", "bank", "bank-people", "person-email", "person-id", "action", "target", "both"],
)
def test_each_filter_finds_its_entries_and_nothing_else(world: TrailWorld, data: Any, expected: tuple[str]) -> None:
    assert _found(_filter(world, **data(world))) == world.ids(*expected)


def test_a_date_range_is_inclusive_of_its_days_and_cut_exactly(world: TrailWorld) -> None:
    day = lambda n: (world.start + n * DAY).date().isoformat()  # noqa: E731
    found = _found(_filter(world, kind="all", since=day(2), until=day(4)))
    assert found == world.ids("machine_on_a", "system_expiry", "bob_grant")
    assert _found(_filter(world, kind="all", until=day(0))) == world.ids("alice_grant")
    # A range of a decade is turned into id bounds like any other: it simply includes everything.
    assert _found(_filter(world, kind="all", since="2017-01-01", until=day(10))) == {e.pk for e in world.named.values()}


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"actor": "nobody@example.test"}, "actor", "unknown_person"),
        ({"person": "999999"}, "person", "unknown_person"),
        ({"target": "no colon"}, "target", "bad_target"),
        ({"since": "1900-01-01"}, "since", "date_out_of_range"),
        ({"since": "2001-01-01", "until": "2024-01-01"}, "since", "range_too_long"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "until", "range_reversed"),
        ({"since": "yesterday"}, "since", "invalid"),
        ({"bank": "no-such-bank"}, "bank", "invalid_choice"),
        ({"action": "no.such.action"}, "action", "invalid_choice"),
        ({"kind": "robots"}, "kind", "invalid_choice"),
        ({"before": "abc"}, "before", "invalid"),
        ({"before": "99999999999999999999999"}, "before", "max_value"),
    ],
)
def test_bad_filters_are_form_errors_with_a_code(
    world: TrailWorld, data: dict[str, str], field: str, code: str
) -> None:
    form = _form(world, **data)
    assert not form.is_valid()
    assert [error.code for error in form.errors.as_data()[field]] == [code]


def test_a_banks_form_has_no_bank_and_an_unknown_person_matches_nothing(world: TrailWorld) -> None:
    form = BankTrailFilterForm({"person": "nobody@example.test", "bank": world.bank_b.slug}, actions=[])
    assert "bank" not in form.fields
    assert form.is_valid(), form.errors
    trail = form.trail_filter()
    assert trail.partner_id is None  # the view forces its own bank; the query's is ignored
    assert _found(trail) == set()


def test_keyset_pages_walk_older_and_newer_without_repeats_or_gaps() -> None:
    ids = [audit_append(action="test.page").pk for _ in range(7)]
    entries = trail_entries(TrailFilter(kind=EVERYTHING, action="test.page"))
    first = trail_page(entries, size=3)
    assert [e.pk for e in first.entries] == ids[6:3:-1]
    assert first.is_first
    assert first.newer is None
    second = trail_page(entries, before=first.older, size=3)
    assert [e.pk for e in second.entries] == ids[3:0:-1]
    assert second.newer == ids[3]
    third = trail_page(entries, before=second.older, size=3)
    assert [e.pk for e in third.entries] == [ids[0]]
    assert third.older is None
    # Back to newer: the page just newer than the third is the second, then the first (a partial page).
    assert [e.pk for e in trail_page(entries, after=third.newer, size=3).entries] == ids[3:0:-1]
    back = trail_page(entries, after=second.newer, size=3)
    assert [e.pk for e in back.entries] == ids[6:3:-1]
    assert back.is_first
    # Entries appended meanwhile do not shift the older pages.
    audit_append(action="test.page")
    assert [e.pk for e in trail_page(entries, before=first.older, size=3).entries] == ids[3:0:-1]


def test_detail_splits_the_change_redacts_and_shows_the_request_and_seal(world: TrailWorld) -> None:
    entry = audit_append(
        action="test.change",
        actor=world.officer,
        target=world.bank_a,
        ip="203.0.113.9",
        data={"before": {"name": "Old"}, "after": {"name": "New"}, "api_token": "tok_live_secret",
              "user_agent": "Firefox/140", "note": "renamed"},
    )  # fmt: skip
    detail = entry_detail(pk=entry.pk)
    assert detail is not None
    assert detail.seal == UNSEALED
    assert [(c.field, c.before, c.after) for c in detail.changes] == [("name", "Old", "New")]
    assert ("api_token", "[redacted]") in detail.details
    assert ("note", "renamed") in detail.details
    assert "tok_live_secret" not in str(detail.details)
    assert detail.request == [("user_agent", "Firefox/140")]
    from compliance.audit import audit_seal

    audit_seal()
    assert entry_detail(pk=entry.pk).seal == SEALED  # type: ignore[union-attr]
    # Its bank's slice sees it; another bank's does not.
    assert entry_detail(pk=entry.pk, partner_id=world.bank_a.pk) is not None
    assert entry_detail(pk=entry.pk, partner_id=world.bank_b.pk) is None


def test_detail_names_an_entry_edited_behind_the_trails_back(world: TrailWorld) -> None:
    from django.db import connection

    entry = world.named["alice_revoke"]
    with connection.cursor() as cursor:
        for statement in remove_statements(connection):
            cursor.execute(statement)
        cursor.execute("UPDATE compliance_auditentry SET action = 'test.nothing' WHERE id = %s", [entry.pk])
    assert entry_detail(pk=entry.pk).seal == BROKEN  # type: ignore[union-attr]


def test_csv_export_streams_every_entry_formula_safe_and_is_audited(world: TrailWorld) -> None:
    audit_append(action="test.csv", actor=world.officer, target=world.bank_a, data={"note": '=HYPERLINK("x")'})
    trail = TrailFilter(kind=EVERYTHING, action="test.csv")
    response = trail_export(entries=trail_entries(trail), trail=trail, actor=world.officer, ip="198.51.100.4")
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[arg-type]
    assert rows[0][:3] == ["id", "position", "created_at"]
    assert len(rows) == 2
    assert rows[1][rows[0].index("data")].startswith('{"note":"=HYPERLINK')  # inside JSON: not a formula
    export = AuditEntry.objects.filter(action="audit.export").get()
    assert export.data == {"filter": {"kind": "all", "action": "test.csv"}}
    assert export.ip == "198.51.100.4"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_would_run_as_a_formula_is_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert safe_cell("plain") == "plain"
    assert safe_cell(-5) == "-5"
    assert safe_cell(None) == ""


def test_csv_lines_read_in_chunks(world: TrailWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from compliance.trail import export

    monkeypatch.setattr(export, "CHUNK", 2)
    lines = list(csv_lines(trail_entries(TrailFilter(kind=EVERYTHING)).filter(action__startswith="test.")))
    assert len(lines) == 1 + len(world.named)
    assert lines[1].startswith(str(world.named["bob_revoke"].pk) + ",")  # newest first, as on the page


def test_known_actions_lists_each_once(world: TrailWorld) -> None:
    actions = known_actions(fresh=True)
    assert actions == sorted(set(actions))
    assert {"test.grant", "test.revoke", "test.event"} <= set(actions)
