"""Platform staff review banks, move them through their lifecycle, and publish usage terms."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from compliance.models import AuditEntry
from partners.models import Partner, UsageTerms
from partners.services import invitation_create, partner_apply, terms_accept, terms_publish
from partners.tests.factories import PartnerFactory, member_of, webhook_endpoint_for
from portal.tests.factories import PlatformStaffFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    sign_in_verified(client, PlatformStaffFactory(full_name="Sam Staff"))
    return client


def text(html: str) -> str:
    """Return what a person reads in `html`: no tags, entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def field_error(response: Any, field: str) -> str:
    """Return the text of the error shown beside `field`, or "" when there is none."""
    match = re.search(rf'id="id_{field}_error">(.*?)</p>', response.content.decode(), re.S)
    return text(match.group(1)) if match else ""


def status_changes(partner: Partner) -> int:
    return (
        AuditEntry.objects.for_target("partners.partner", str(partner.pk))
        .filter(action="partner.status_change")
        .count()
    )


# --- The review queue --------------------------------------------------------------------------------


def test_the_queue_filters_by_status_with_counts(staff_client: Client) -> None:
    PartnerFactory(legal_name="Applied One", status="applied")
    PartnerFactory(legal_name="Applied Two", status="applied")
    PartnerFactory(legal_name="Live One", status="live")
    content = staff_client.get("/staff/banks/").content.decode()
    tabs = text(content.split('aria-label="Banks by status"')[1].split("</nav>")[0])
    assert tabs.startswith("> All ( 3 ) Applied ( 2 ) In review ( 0 ) Sandbox ( 0 ) Live ( 1 ) Suspended ( 0 )")
    filtered = staff_client.get("/staff/banks/", {"status": "applied"}).content.decode()
    assert "Applied One" in filtered
    assert "Live One" not in filtered
    assert 'href="?status=applied" aria-current="page"' in filtered
    # An unknown status shows every bank rather than an error.
    assert "Live One" in staff_client.get("/staff/banks/", {"status": "nonsense"}).content.decode()


def test_pages_of_a_filtered_queue_keep_the_filter(staff_client: Client) -> None:
    for n in range(27):
        PartnerFactory(legal_name=f"Review {n:02}", status="in_review")
    PartnerFactory(legal_name="Elsewhere", status="live")
    first = staff_client.get("/staff/banks/", {"status": "in_review"}).content.decode()
    assert 'href="?status=in_review&amp;page=2"' in first
    second = staff_client.get("/staff/banks/", {"status": "in_review", "page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert "Elsewhere" not in second


@pytest.mark.parametrize("banks", [2, 20])
def test_the_queue_costs_the_same_queries_for_2_or_20_banks(
    staff_client: Client, banks: int, django_assert_max_num_queries: Any
) -> None:
    for _ in range(banks):
        PartnerFactory(status="applied")
    # Session, person, roles (2), counts, page count, page rows.
    with django_assert_max_num_queries(8):
        response = staff_client.get("/staff/banks/")
    assert response.content.decode().count('href="/staff/banks/bank-') == banks


# --- A bank's review page ---------------------------------------------------------------------------


@pytest.fixture
def applied_bank() -> Partner:
    partner, _ = partner_apply(
        legal_name="Northwind Savings plc",
        country="GB",
        identifier_type="lei",
        identifier="5493001KJTIIGC8Y1R12",
        website="https://northwind.example",
        security_contact="security@northwind.example",
        manager_email="ana@northwind.example",
    )
    return partner


def test_the_review_page_shows_the_application_people_terms_and_history(
    staff_client: Client, applied_bank: Partner
) -> None:
    content = staff_client.get(f"/staff/banks/{applied_bank.slug}/").content.decode()
    for text in (
        "Northwind Savings plc",
        "United Kingdom",
        "5493001KJTIIGC8Y1R12",
        "https://northwind.example",
        "security@northwind.example",
        "ana@northwind.example",  # the pending invitation of the first manager
        "No members yet",
        "No usage terms have been published yet.",
        "partner.apply",
        "partner.invite",
    ):
        assert text in content, text
    options = re.findall(r'<option value="(\w*)"', content)
    assert options == ["", "in_review", "withdrawn"]


def test_staff_move_a_bank_on_with_a_note(staff_client: Client, applied_bank: Partner) -> None:
    response = staff_client.post(
        f"/staff/banks/{applied_bank.slug}/", {"to_status": "in_review", "note": "Documents received."}
    )
    assert response.status_code == 302
    applied_bank.refresh_from_db()
    assert applied_bank.status == "in_review"
    entry = AuditEntry.objects.get(action="partner.status_change")
    assert entry.data == {"from": "applied", "to": "in_review", "note": "Documents received."}
    page = staff_client.get(response["Location"]).content.decode()
    assert "The status of Northwind Savings plc is now “In review”." in page
    assert "Documents received." in page  # in the history


def test_a_transition_without_a_note_is_refused(staff_client: Client, applied_bank: Partner) -> None:
    response = staff_client.post(f"/staff/banks/{applied_bank.slug}/", {"to_status": "in_review", "note": " "})
    assert response.status_code == 200
    assert "Write a note that says why." in response.content.decode()
    assert field_error(response, "note") == "Error: Write a note."
    applied_bank.refresh_from_db()
    assert applied_bank.status == "applied"
    assert status_changes(applied_bank) == 0


def test_the_sandbox_waits_for_a_verified_manager(staff_client: Client, applied_bank: Partner) -> None:
    Partner.objects.filter(pk=applied_bank.pk).update(status="in_review")
    response = staff_client.post(f"/staff/banks/{applied_bank.slug}/", {"to_status": "sandbox", "note": "OK"})
    assert "its first manager must accept the invitation first" in response.content.decode()
    assert Partner.objects.get(pk=applied_bank.pk).status == "in_review"


def test_going_live_before_the_terms_are_accepted_is_refused(staff_client: Client) -> None:
    partner = PartnerFactory(status="sandbox")
    manager = member_of(partner)
    terms = terms_publish(title="Terms", body="Text", actor=None)
    content = staff_client.get(f"/staff/banks/{partner.slug}/").content.decode()
    assert "has not accepted version 1" in content
    response = staff_client.post(f"/staff/banks/{partner.slug}/", {"to_status": "live", "note": "Ready."})
    assert "a manager must accept them before it goes live" in response.content.decode()
    assert Partner.objects.get(pk=partner.pk).status == "sandbox"
    assert status_changes(partner) == 0
    terms_accept(partner=partner, terms=terms, user=manager)
    page = staff_client.get(f"/staff/banks/{partner.slug}/").content.decode()
    assert "Not done on the bank's go-live checklist" in page
    assert "A webhook endpoint" in page
    response = staff_client.post(f"/staff/banks/{partner.slug}/", {"to_status": "live", "note": "Ready."})
    assert field_error(response, "missing_confirmed") == "Error: Tick to go live with these steps missing."
    assert Partner.objects.get(pk=partner.pk).status == "sandbox"
    response = staff_client.post(
        f"/staff/banks/{partner.slug}/", {"to_status": "live", "note": "A pilot.", "missing_confirmed": "on"}
    )
    assert response.status_code == 302
    assert Partner.objects.get(pk=partner.pk).status == "live"


def test_a_status_no_longer_possible_asks_staff_to_choose_again(staff_client: Client) -> None:
    partner = PartnerFactory(status="live")
    response = staff_client.post(f"/staff/banks/{partner.slug}/", {"to_status": "in_review", "note": "Oops"})
    assert (
        field_error(response, "to_status")
        == "Error: The bank's status changed since you opened this page. Choose again."
    )
    assert Partner.objects.get(pk=partner.pk).status == "live"


def test_a_bank_member_cannot_move_their_own_bank(client: Client) -> None:
    partner = PartnerFactory(status="sandbox")
    sign_in_verified(client, member_of(partner))
    response = client.post(f"/staff/banks/{partner.slug}/", {"to_status": "suspended", "note": "Hi"})
    assert response.status_code == 403
    assert Partner.objects.get(pk=partner.pk).status == "sandbox"


def test_an_unknown_bank_is_not_found(staff_client: Client) -> None:
    assert staff_client.get("/staff/banks/no-such-bank/").status_code == 404


# --- Usage terms --------------------------------------------------------------------------------------


def test_the_terms_list_counts_acceptances(staff_client: Client) -> None:
    first = terms_publish(title="First terms", body="One", actor=None)
    for _ in range(3):
        partner = PartnerFactory()
        terms_accept(partner=partner, terms=first, user=member_of(partner))
    terms_publish(title="Second terms", body="Two", actor=None, requires_reacceptance=False)
    content = staff_client.get("/staff/terms/").content.decode()
    rows = [text(row) for row in re.findall(r"<tr>(.*?)</tr>", content, re.S)]
    assert re.fullmatch(r"2 Current Second terms \d+ \w+ \d{4} Not required 0", rows[1])
    assert re.fullmatch(r"1 First terms \d+ \w+ \d{4} Required within 30 days 3", rows[2])


@pytest.mark.parametrize("versions", [2, 20])
def test_the_terms_list_costs_the_same_queries_for_2_or_20_versions(
    staff_client: Client, versions: int, django_assert_max_num_queries: Any
) -> None:
    staff = PlatformStaffFactory()
    for n in range(versions):
        terms_publish(title=f"Terms {n}", body=f"Text {n}", actor=staff)
    with django_assert_max_num_queries(7):
        response = staff_client.get("/staff/terms/")
    assert response.content.decode().count("<tr>") == versions + 1


def test_staff_preview_then_publish_new_terms(staff_client: Client) -> None:
    data = {
        "title": "Usage terms 2026",
        "body": "# Our promise\n\nNever for **advertising**.<script>alert(1)</script>",
        "requires_reacceptance": "on",
        "grace_days": "14",
    }
    preview = staff_client.post("/staff/terms/new/", {**data, "action": "preview"})
    content = preview.content.decode()
    assert "Check the new usage terms" in content
    assert "<strong>advertising</strong>" in content
    assert "<script>alert(1)" not in content
    assert not UsageTerms.objects.exists()
    # "Change them" goes back to the form with everything kept.
    back = staff_client.post("/staff/terms/new/", {**data, "action": "edit"}).content.decode()
    assert 'value="Usage terms 2026"' in back
    assert not UsageTerms.objects.exists()
    response = staff_client.post("/staff/terms/new/", {**data, "action": "publish"})
    assert response["Location"] == "/staff/terms/"
    terms = UsageTerms.objects.get()
    assert (terms.version, terms.title, terms.grace_days, terms.requires_reacceptance) == (
        1,
        "Usage terms 2026",
        14,
        True,
    )
    assert terms.body == data["body"]
    entry = AuditEntry.objects.get(action="terms.publish")
    assert entry.data["sha256"] == terms.body_sha256
    assert "Version 1 of the usage terms is published." in staff_client.get("/staff/terms/").content.decode()


def test_terms_with_a_bad_grace_period_are_not_published(staff_client: Client) -> None:
    response = staff_client.post(
        "/staff/terms/new/", {"title": "T", "body": "B", "grace_days": "400", "action": "publish"}
    )
    assert field_error(response, "grace_days") == "Error: Enter a number of days from 0 to 365."
    assert not UsageTerms.objects.exists()


# --- Admin: read-only pages for the new models -----------------------------------------------------


def test_admin_shows_invitations_and_webhooks_without_their_secrets(staff_client: Client) -> None:
    partner = PartnerFactory()
    invitation, token = invitation_create(
        partner=partner, email="x@bank.example", role="developer", actor=member_of(partner)
    )
    endpoint = webhook_endpoint_for(partner)
    page = staff_client.get(f"/admin/partners/invitation/{invitation.pk}/change/").content.decode()
    assert "x@bank.example" in page
    assert invitation.token_digest not in page
    assert token not in page
    page = staff_client.get(f"/admin/partners/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.url in page
    assert endpoint.secret not in page
    assert staff_client.get("/admin/partners/usageterms/add/").status_code == 403
    assert staff_client.post(f"/admin/partners/invitation/{invitation.pk}/delete/").status_code == 403


def test_a_new_version_of_the_terms_starts_from_the_current_text(staff_client: Client) -> None:
    empty = staff_client.get("/staff/terms/new/").content.decode()
    assert "Our promise" not in empty
    terms_publish(title="Usage terms 2026", body="# Our promise\n\nNever for advertising.", actor=None)
    form = staff_client.get("/staff/terms/new/").content.decode()
    assert 'value="Usage terms 2026"' in form
    assert "# Our promise" in form
