"""The archive of one person's data: everything about them, nothing about anyone else, with its progress."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from compliance.data_requests import archive
from compliance.data_requests.archive import archive_build, archive_path, archive_progress
from compliance.data_requests.holdings import audit_entries_about, holdings_count
from compliance.data_requests.models import DataRequest
from compliance.data_requests.requests import data_request_log, data_request_mine
from compliance.models import AuditEntry
from compliance.tests.data_subjects import two_subjects
from consent.models import ConsentEvent, ConsentGrant
from delivery.models import Delivery, DeliveryAttempt, InboxMessage, PartnerEvent
from portal.tests.factories import ComplianceStaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _archive_dir(settings: Any, tmp_path: Path) -> None:
    settings.COMPLIANCE_ARCHIVE_DIR = tmp_path / "archives"


def _read(request: DataRequest) -> tuple[dict[str, Any], str]:
    path = archive_path(request)
    assert path is not None
    assert path.exists()
    with zipfile.ZipFile(path) as zipped:
        assert sorted(zipped.namelist()) == ["data.json", "index.html", "style.css"]
        return json.loads(zipped.read("data.json")), zipped.read("index.html").decode()


def test_the_archive_holds_everything_about_the_person_and_nothing_about_another() -> None:
    world = two_subjects()
    alice, bob = world.alice, world.bob
    request = data_request_mine(person=alice.user)
    built = archive_build(request_id=request.pk)
    assert built is not None
    assert built.state == DataRequest.State.READY
    data, page = _read(built)
    person = alice.user
    assert (data["person"]["email"], data["person"]["full_name"]) == (alice.email, alice.name)
    assert [row["id"] for row in data["links"]] == [link.pk for link in alice.links]
    assert {row["id"] for row in data["grants"]} == set(
        ConsentGrant.objects.filter(user=person).values_list("pk", flat=True)
    )
    events = ConsentEvent.objects.filter(user=person)
    assert {row["receipt_id"] for row in data["consent_events"]} == {str(e.public_id) for e in events}
    assert {row["id"] for row in data["inbox"]} == set(
        InboxMessage.objects.filter(user=person).values_list("pk", flat=True)
    )
    assert {row["id"] for row in data["events"]} == set(
        PartnerEvent.objects.filter(link__user=person).values_list("pk", flat=True)
    )
    assert {row["id"] for row in data["deliveries"]} == set(
        Delivery.objects.filter(event__link__user=person).values_list("pk", flat=True)
    )
    assert len(data["delivery_attempts"]) == DeliveryAttempt.objects.filter(delivery__event__link__user=person).count()
    ready = AuditEntry.objects.get(action="data_request.archive_ready")  # written once the archive was
    about = audit_entries_about(person).exclude(pk=ready.pk).values_list("pk", flat=True)
    assert {row["id"] for row in data["audit"]} == set(about)
    assert "auth.login_failed" in {row["action"] for row in data["audit"]}  # names the address, concerns no one
    assert {row["action"] for row in data["audit"]} >= {"consent.link", "consent.grant", "data_request.asked"}
    assert [row["id"] for row in data["data_requests"]] == [request.pk]
    assert all(row["payload"]["merchant"] == alice.merchant for row in data["events"])
    # The readable page shows the same, in plain headings.
    for shown in ("Permissions you gave", alice.inbox_title, alice.email):
        assert shown in page
    # Nothing of the other person, in either file.
    text = json.dumps(data) + page
    for value in (bob.email, bob.name, bob.merchant, *(link.account_ref for link in bob.links)):
        assert value not in text
    assert built.done == built.total == holdings_count(person) - 1 > 20  # all but the entry saying it is ready


def test_an_archive_staff_logged_starts_at_once_and_is_audited_ready(django_capture_on_commit_callbacks: Any) -> None:
    world = two_subjects()
    staff = ComplianceStaffFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        request = data_request_log(person=world.alice.user, kind="archive", reason="Letter of 3 May", actor=staff)
    assert len(callbacks) == 1  # the Celery job, sent after commit
    archive_build(request_id=request.pk)
    ready = AuditEntry.objects.get(action="data_request.archive_ready")
    assert ready.person_id == world.alice.user.pk
    assert ready.data["sha256"] == DataRequest.objects.get().file_sha256
    assert AuditEntry.objects.get(action="data_request.logged").actor_id == str(staff.pk)


def test_progress_is_written_while_the_archive_is_built(monkeypatch: Any) -> None:
    world = two_subjects()
    request = data_request_mine(person=world.alice.user)
    seen: list[tuple[int, int, str]] = []
    real_step = archive.Progress.step

    def watching(self: archive.Progress) -> None:
        real_step(self)
        row = DataRequest.objects.get(pk=self.request_id)
        seen.append((row.done, row.total, archive_progress(row)["state"]))

    monkeypatch.setattr(archive.Progress, "step", watching)
    total = holdings_count(world.alice.user)  # before the build adds its "ready" entry
    archive_build(request_id=request.pk, interval=0)
    assert [done for done, _, _ in seen] == list(range(1, total + 1))
    assert {state for _, _, state in seen} == {"running"}
    assert {t for _, t, _ in seen} == {total}
    request.refresh_from_db()
    assert archive_progress(request) | {"done": 0} == {
        "state": "ready",
        "state_label": "Ready to download",
        "done": 0,
        "total": total,
        "percent": 100,
        "finished": True,
        "ready": True,
    }


def test_a_finished_request_is_not_built_twice() -> None:
    world = two_subjects()
    request = data_request_mine(person=world.alice.user)
    first = archive_build(request_id=request.pk)
    assert first is not None
    assert archive_build(request_id=request.pk) is None
    assert len(list(Path(archive_path(first).parent).glob("*.zip"))) == 1  # type: ignore[union-attr]


def test_asking_twice_while_one_is_prepared_reuses_it() -> None:
    world = two_subjects()
    first = data_request_mine(person=world.alice.user)
    assert data_request_mine(person=world.alice.user).pk == first.pk
    archive_build(request_id=first.pk)
    assert data_request_mine(person=world.alice.user).pk != first.pk
