"""Reports count exactly what happened, for the banks the viewer may see, and their CSVs stream every row."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import AttestationChase, AuditEntry
from compliance.reports import REPORTS
from portal.tests.factories import ComplianceStaffFactory
from portal.tests.signing_in import sign_in_verified

from .report_world import ReportWorld, _bank_rows, _months_ago, report_world

pytestmark = pytest.mark.django_db
THIS_MONTH = f"{timezone.now():%Y-%m}"


@pytest.fixture
def world() -> ReportWorld:
    return report_world(2)


@pytest.fixture
def staff(client: Client) -> Client:
    return sign_in_verified(client, ComplianceStaffFactory())


def rows_of(response: Any) -> list[list[str]]:
    """Return the CSV's lines (header first), checking that it streamed."""
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def csv_of(client: Client, slug: str, **params: str) -> list[list[str]]:
    return rows_of(client.get(f"/compliance/reports/{slug}/csv/", params))


def test_grants_revocations_and_expiries_per_bank_scope_and_month(staff: Client, world: ReportWorld) -> None:
    header, *rows = csv_of(staff, "consent-activity")
    assert header == ["Month", "Bank", "Scope", "Granted", "Revoked", "Expired"]
    expired_month = f"{_months_ago(2):%Y-%m}"
    assert sorted(rows) == sorted(
        [
            [expired_month, "Alpha Bank", "balances.read", "0", "0", "1"],
            [THIS_MONTH, "Alpha Bank", "balances.read", "2", "1", "0"],
            [THIS_MONTH, "Beta Bank", "balances.read", "1", "0", "0"],
        ]
    )
    # The grant of two years ago is counted once the range reaches back to it.
    old = f"{_months_ago(24):%Y-%m}"
    _header, *rows = csv_of(staff, "consent-activity", **{"from": old, "to": old, "bank": world.bank_a.slug})
    assert rows == [[old, "Alpha Bank", "balances.read", "1", "0", "0"]]


def test_deliveries_per_purpose_and_channel(staff: Client, world: ReportWorld) -> None:
    _header, *rows = csv_of(staff, "deliveries")
    # Month, bank, purpose, channel, deliveries, delivered, dead, cancelled, waiting.
    assert sorted(row[1:] for row in rows) == sorted(
        [
            ["Alpha Bank", "Account updates", "Portal inbox", "4", "2", "0", "2", "0"],
            ["Alpha Bank", "Account updates", "Messenger gateway", "3", "0", "2", "1", "0"],
            ["Beta Bank", "Account updates", "Portal inbox", "1", "1", "0", "0", "0"],
            ["Beta Bank", "Account updates", "Messenger gateway", "1", "0", "1", "0", "0"],
        ]
    )


def test_refusals_count_what_consent_stopped_not_what_a_suspension_cancelled(staff: Client, world: ReportWorld) -> None:
    _header, *rows = csv_of(staff, "consent-refusals")
    assert rows == [[THIS_MONTH, "Alpha Bank", "balance_update", "1", "2"]]


def test_dead_letters_list_each_one_with_formula_safe_errors(staff: Client, world: ReportWorld) -> None:
    header, *rows = csv_of(staff, "dead-letters")
    assert header[:3] == ["Event arrived", "Bank", "Delivery"]
    assert sorted(row[1] for row in rows) == ["Alpha Bank", "Alpha Bank", "Beta Bank"]
    assert {row[-1] for row in rows} == {"'=HYPERLINK(500)"}  # a spreadsheet shows it, never runs it


def test_banks_with_terms_not_accepted(staff: Client, world: ReportWorld) -> None:
    _header, *rows = csv_of(staff, "terms-not-accepted")
    assert [row[:5] for row in rows] == [
        ["Alpha Bank", "Live", "1", "2", "Older version, API blocked"],
        ["Gamma Bank", "Sandbox", "none", "2", "Never accepted"],
    ]


def test_terms_report_agrees_with_each_banks_own_terms_status(staff: Client, world: ReportWorld) -> None:
    from partners.selectors import partner_terms_status

    listed = {row[0] for row in csv_of(staff, "terms-not-accepted")[1:]}
    for bank in (world.bank_a, world.bank_b, world.bank_c):
        assert (bank.legal_name in listed) is (partner_terms_status(partner=bank).state != "accepted")


def test_overdue_attestations_per_bank_and_every_grant_in_the_csv(staff: Client, world: ReportWorld) -> None:
    page = staff.get("/compliance/reports/attestations-overdue/")
    assert page.status_code == 200
    assert f'name="bank" value="{world.bank_a.slug}"' in page.content.decode()  # its chase button
    header, *rows = csv_of(staff, "attestations-overdue")
    assert header[:2] == ["Bank", "Grant"]
    assert sorted(row[0] for row in rows) == ["Alpha Bank", "Alpha Bank", "Beta Bank"]
    assert {row[-1] for row in rows} == {"3"}  # days overdue


def test_scope_review_history(staff: Client, world: ReportWorld) -> None:
    _header, *rows = csv_of(staff, "scope-reviews")
    steps = sorted((row[1].split(":")[0], row[3]) for row in rows)
    assert steps == sorted(
        [
            (world.bank_a.slug, "Sent for review"),
            (world.bank_a.slug, "Sent for review"),
            (world.bank_a.slug, "Sent back to the bank"),
            (world.bank_b.slug, "Sent for review"),
        ]
    )
    assert "Say why" in {row[5] for row in rows}


def test_grants_flagged_by_narrowing_leave_widening_out(staff: Client, world: ReportWorld) -> None:
    _header, *rows = csv_of(staff, "narrowing")
    assert sorted((row[1], row[5]) for row in rows) == [
        ("Alpha Bank", "Ends earlier"),
        ("Alpha Bank", "Ends earlier"),
        ("Beta Bank", "Ends earlier"),
    ]


def test_one_bank_chosen_leaves_the_others_out(staff: Client, world: ReportWorld) -> None:
    for slug in REPORTS:
        rows = csv_of(staff, slug, bank=world.bank_b.slug)[1:]
        assert all("Alpha Bank" not in row for row in rows), slug


def test_every_report_page_shows_a_chart_and_a_table(staff: Client, world: ReportWorld) -> None:
    index = staff.get("/compliance/reports/").content.decode()
    for slug, report in REPORTS.items():
        assert f"/compliance/reports/{slug}/" in index
        html = staff.get(f"/compliance/reports/{slug}/").content.decode()
        assert 'data-chart="report-chart-data"' in html, slug
        assert 'id="report-chart-data"' in html, slug
        assert "<table" in html, slug
        assert report.columns[0].heading in html, slug
        assert "report_chart.js" in html
        assert "<script>" not in html


def test_an_export_is_audited(staff: Client, world: ReportWorld) -> None:
    csv_of(staff, "dead-letters", bank=world.bank_a.slug)
    entry = AuditEntry.objects.filter(action="report.export").get()
    assert entry.partner_id == world.bank_a.pk
    assert entry.data["report"] == "dead-letters"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-13"}, "invalid_month"),
        ({"from": "March"}, "invalid_month"),
        ({"to": "1900-01"}, "invalid_month"),
        ({"from": "1970-01", "to": "2070-01"}, "range_too_long"),
        ({"from": "2026-05", "to": "2026-01"}, "range_reversed"),
        ({"bank": "no-such-bank"}, "unknown_bank"),
    ],
)
def test_a_bad_filter_says_what_to_change(staff: Client, params: dict[str, str], code: str) -> None:
    for url in ("/compliance/reports/consent-activity/", "/compliance/reports/consent-activity/csv/"):
        response = staff.get(url, params)
        assert response.status_code == 400
        assert not isinstance(response, StreamingHttpResponse)
        html = response.content.decode()
        assert "There is a problem" in html
        assert f"<code>{code}</code>" in html


def test_an_unknown_report_is_not_found(staff: Client) -> None:
    assert staff.get("/compliance/reports/no-such-report/").status_code == 404


def test_chase_emails_the_contact_once_and_audits_it(
    staff: Client, world: ReportWorld, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post("/compliance/reports/attestations-overdue/chase/", {"bank": world.bank_a.slug})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [world.contact_a.email]
    assert "2 deletion attestations are overdue" in mailoutbox[0].subject
    chase = AttestationChase.objects.get()
    assert (chase.partner_id, chase.overdue, chase.recipients) == (world.bank_a.pk, 2, 1)
    entry = AuditEntry.objects.filter(action="compliance.attestation_chase").get()
    assert entry.partner_id == world.bank_a.pk
    assert entry.data["overdue"] == 2
    page = staff.get("/compliance/reports/attestations-overdue/").content.decode()
    assert "asked to attest 2 overdue deletions" in page
    # The table shows when each bank was last chased: bank A now, bank B never.
    from compliance.reports.banks import overdue_rows
    from compliance.reports.filters import report_filter

    chased = {row["partner__legal_name"]: row["last_chased"] for row in overdue_rows(report_filter({}))}
    assert chased == {"Alpha Bank": chase.sent_at, "Beta Bank": None}


def test_chase_of_a_bank_that_owes_nothing_emails_nobody(
    staff: Client, world: ReportWorld, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/compliance/reports/attestations-overdue/chase/", {"bank": world.bank_c.slug}, follow=True
        )
        missing = staff.post("/compliance/reports/attestations-overdue/chase/", {"bank": "nope"}, follow=True)
    assert "owes no overdue deletion attestation" in response.content.decode()
    assert "There is no such bank" in missing.content.decode()
    assert mailoutbox == []
    assert not AttestationChase.objects.exists()
    assert not AuditEntry.objects.filter(action="compliance.attestation_chase").exists()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200, url
    return len(queries)


def test_query_counts_do_not_grow_with_rows(client: Client, world: ReportWorld) -> None:
    staff_client = sign_in_verified(Client(), ComplianceStaffFactory())
    bank_client = sign_in_verified(client, world.contact_a)
    urls = [f"/compliance/reports/{slug}/" for slug in REPORTS]
    urls += [f"/bank/{world.bank_a.slug}/reports/{slug}/" for slug in REPORTS]
    urls += ["/compliance/reports/", f"/bank/{world.bank_a.slug}/figures/", f"/bank/{world.bank_a.slug}/reports/"]

    def counts() -> dict[str, int]:
        return {url: _queries(bank_client if url.startswith("/bank/") else staff_client, url) for url in urls}

    counts()  # the first request of a session fills per-process caches (content types); count the next
    at_two = counts()
    _bank_rows(world.bank_a, 7, extras=False)
    _bank_rows(world.bank_b, 5, extras=False)
    assert counts() == at_two
    assert max(at_two.values()) <= 16, at_two


# --- A bank's own figures and reports -------------------------------------------------------------


def test_a_banks_figures_count_its_own_grants_only(client: Client, world: ReportWorld) -> None:
    sign_in_verified(client, world.contact_a)
    page = client.get(f"/bank/{world.bank_a.slug}/figures/")
    assert page.status_code == 200
    html = page.content.decode()
    # Bank A: two grants of the world, one attested and one not yet due, all still active.
    assert "<dt>Grants in force now</dt><dd>4</dd>" in html
    assert 'data-chart="active-chart-data"' in html
    assert 'data-chart="report-chart-data"' in html
    header, *rows = rows_of(client.get(f"/bank/{world.bank_a.slug}/figures/csv/"))
    assert header == ["Month", "Scope", "Purpose", "Granted", "Revoked", "Expired"]
    assert sorted(rows) == sorted(
        [
            [THIS_MONTH, "balances.read", "Account updates", "2", "1", "0"],
            [f"{_months_ago(2):%Y-%m}", "balances.read", "Account updates", "0", "0", "1"],
        ]
    )


def test_a_banks_contact_reads_its_reports_and_never_another_banks(client: Client, world: ReportWorld) -> None:
    sign_in_verified(client, world.contact_a)
    index = client.get(f"/bank/{world.bank_a.slug}/reports/").content.decode()
    for slug in REPORTS:
        assert f"/bank/{world.bank_a.slug}/reports/{slug}/" in index
        html = client.get(f"/bank/{world.bank_a.slug}/reports/{slug}/", {"bank": world.bank_b.slug}).content.decode()
        assert "Beta Bank" not in html, slug
        assert "/chase/" not in html, slug  # read-only: no chase
        rows = rows_of(client.get(f"/bank/{world.bank_a.slug}/reports/{slug}/csv/", {"bank": world.bank_b.slug}))
        assert all("Beta Bank" not in row for row in rows), slug
    for url in (
        f"/bank/{world.bank_b.slug}/reports/dead-letters/",
        f"/bank/{world.bank_b.slug}/reports/dead-letters/csv/",
        f"/bank/{world.bank_b.slug}/figures/",
        f"/bank/{world.bank_b.slug}/figures/csv/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get("/compliance/reports/dead-letters/csv/").status_code == 403
    assert (
        client.post("/compliance/reports/attestations-overdue/chase/", {"bank": world.bank_a.slug}).status_code == 403
    )


def test_a_banks_report_counts_match_its_slice_of_the_staff_report(client: Client, world: ReportWorld) -> None:
    staff_client = sign_in_verified(Client(), ComplianceStaffFactory())
    sign_in_verified(client, world.contact_a)
    for slug in REPORTS:
        own = rows_of(client.get(f"/bank/{world.bank_a.slug}/reports/{slug}/csv/"))
        sliced = rows_of(staff_client.get(f"/compliance/reports/{slug}/csv/", {"bank": world.bank_a.slug}))
        assert own == sliced, slug


def test_the_bank_home_links_its_deliveries_figures_and_reports(client: Client, world: ReportWorld) -> None:
    sign_in_verified(client, world.manager_b)
    html = client.get(f"/bank/{world.bank_b.slug}/").content.decode()
    for path in ("deliveries", "figures", "reports"):
        assert f'href="/bank/{world.bank_b.slug}/{path}/"' in html, path
    deliveries = client.get(f"/bank/{world.bank_b.slug}/deliveries/").content.decode()
    assert 'aria-current="page">Deliveries' in deliveries
    assert 'class="figures"' in deliveries


def test_the_default_range_is_the_last_twelve_months_this_one_included() -> None:
    import datetime as dt

    from compliance.reports.filters import months_before, report_filter

    chosen = report_filter({})
    assert len(chosen.months) == 12
    assert chosen.last == timezone.now().date().replace(day=1)
    assert months_before(dt.date(2026, 1, 1), 1) == dt.date(2025, 12, 1)
    assert len(report_filter({"from": "2022-01", "to": "2026-12"}).months) == 60
