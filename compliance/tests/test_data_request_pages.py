"""The data-request pages: logging, progress, downloads only for the requester, erasure, pinned query counts."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from compliance.data_requests.archive import archive_build
from compliance.data_requests.models import DataRequest
from compliance.data_requests.requests import data_request_log, data_request_mine
from compliance.tests.data_subjects import two_subjects
from portal.models import User
from portal.tests.factories import ComplianceStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _archive_dir(settings: Any, tmp_path: Path) -> None:
    settings.COMPLIANCE_ARCHIVE_DIR = tmp_path / "archives"


def _as(user: User) -> Client:
    return sign_in_verified(Client(), user)


def _download(client: Client, route: str, pk: int) -> Any:
    return client.get(reverse(route, kwargs={"pk": pk}))


def test_staff_log_a_request_and_see_its_progress(django_capture_on_commit_callbacks: Any) -> None:
    world = two_subjects()
    staff = _as(ComplianceStaffFactory())
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff.post(
            reverse("compliance:data-requests"),
            {"email": world.alice.email.upper(), "kind": "archive", "reason": "Letter of 3 May", "reference": "DSR-7"},
        )
    request = DataRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("compliance:data-request", kwargs={"pk": request.pk})
    assert (request.user_id, request.reference, len(callbacks)) == (world.alice.user.pk, "DSR-7", 1)
    page = staff.get(response["Location"]).content.decode()
    assert "<progress" in page
    assert "js/data_request.js" in page
    status = staff.get(reverse("compliance:data-request-status", kwargs={"pk": request.pk})).json()
    assert (status["state"], status["finished"]) == ("queued", False)
    archive_build(request_id=request.pk)
    status = staff.get(reverse("compliance:data-request-status", kwargs={"pk": request.pk})).json()
    assert (status["state"], status["percent"], status["ready"]) == ("ready", 100, True)
    assert "Download the copy" in staff.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "nobody@example.test", "kind": "archive", "reason": "x"}, "No one has an account with this address"),
        ({"email": "zelda.quartermain@example.test", "kind": "archive", "reason": ""}, "This field is required"),
        ({"email": "zelda.quartermain@example.test", "kind": "delete-all", "reason": "x"}, "Select a valid choice"),
        ({"email": "not an address", "kind": "archive", "reason": "x"}, "Enter a valid email address"),
    ],
)
def test_bad_input_is_refused_with_a_sentence(data: dict[str, str], message: str) -> None:
    two_subjects()
    response = _as(ComplianceStaffFactory()).post(reverse("compliance:data-requests"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not DataRequest.objects.exists()


def test_a_staff_logged_archive_downloads_only_for_compliance() -> None:
    world = two_subjects()
    officer = ComplianceStaffFactory()
    request = data_request_log(person=world.alice.user, kind="archive", reason="Regulator", actor=officer)
    route = "compliance:data-request-download"
    assert _download(_as(officer), route, request.pk).status_code == 409  # not ready yet: a clear page
    archive_build(request_id=request.pk)
    response = _download(_as(officer), route, request.pk)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="data-archive-{request.pk}.zip"'
    assert "data.json" in zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert _download(_as(ComplianceStaffFactory()), route, request.pk).status_code == 200  # the team answers
    # The person (it is compliance's copy), someone else, and the person's own pages: not found.
    assert _download(_as(world.alice.user), route, request.pk).status_code == 403
    assert _download(_as(world.alice.user), "my-data:download", request.pk).status_code == 404
    assert _download(_as(world.bob.user), "my-data:download", request.pk).status_code == 404
    assert _download(_as(officer), route, request.pk + 1000).status_code == 404


def test_a_persons_own_copy_downloads_only_for_them() -> None:
    world = two_subjects()
    alice = _as(world.alice.user)
    response = alice.post(reverse("my-data:start"))
    request = DataRequest.objects.get()
    assert response["Location"] == reverse("my-data:request", kwargs={"pk": request.pk})
    assert "<progress" in alice.get(response["Location"]).content.decode()
    archive_build(request_id=request.pk)
    assert _download(alice, "my-data:download", request.pk).status_code == 200
    assert alice.get(reverse("my-data:status", kwargs={"pk": request.pk})).json()["ready"] is True
    for other in (world.bob.user, UserFactory()):
        client = _as(other)
        assert _download(client, "my-data:download", request.pk).status_code == 404
        assert client.get(reverse("my-data:status", kwargs={"pk": request.pk})).status_code == 404
        assert client.get(reverse("my-data:request", kwargs={"pk": request.pk})).status_code == 404
    staff = _as(ComplianceStaffFactory())
    assert _download(staff, "compliance:data-request-download", request.pk).status_code == 404
    assert staff.get(reverse("compliance:data-request", kwargs={"pk": request.pk})).status_code == 404


def test_the_dashboard_leads_to_download_my_data() -> None:
    world = two_subjects()
    alice = _as(world.alice.user)
    assert reverse("my-data:home") in alice.get(reverse("consent:dashboard")).content.decode()
    assert "Download my data" in alice.get(reverse("my-data:home")).content.decode()


def test_staff_erase_from_the_page_once_they_confirm() -> None:
    world = two_subjects()
    officer = ComplianceStaffFactory()
    request = data_request_log(person=world.alice.user, kind="erasure", reason="Art. 17", actor=officer)
    staff = _as(officer)
    url = reverse("compliance:data-request-erase", kwargs={"pk": request.pk})
    refused = staff.post(url, {})
    assert refused.status_code == 400
    assert "This field is required" in refused.content.decode()
    assert DataRequest.objects.get(pk=request.pk).state == DataRequest.State.QUEUED
    response = staff.post(url, {"confirm": "on"})
    assert response.status_code == 302
    assert DataRequest.objects.get(pk=request.pk).state == DataRequest.State.DONE
    assert "Erased" in staff.get(response["Location"]).content.decode()
    again = staff.post(url, {"confirm": "on"})
    assert again.status_code == 409
    assert "not an erasure waiting" in again.content.decode()


def _staff_requests(count: int, officer: User) -> None:
    for _ in range(count):
        DataRequest.objects.create(user=UserFactory(), kind="archive", requested_by=officer, reason="x")


def _my_requests(count: int, person: User) -> None:
    for _ in range(count):
        DataRequest.objects.create(user=person, kind="archive", requested_by=person, state="ready")


@pytest.mark.parametrize("count", [2, 6])
def test_the_list_of_requests_takes_the_same_queries_however_long(count: int, django_assert_num_queries: Any) -> None:
    officer = ComplianceStaffFactory()
    _staff_requests(count, officer)
    data_request_mine(person=officer)  # their own copy is not in compliance's list
    client = _as(officer)
    client.get(reverse("compliance:data-requests"))  # warm the session's device lookups
    with django_assert_num_queries(7):
        response = client.get(reverse("compliance:data-requests"))
    assert response.content.decode().count("<td><a href=") == count


@pytest.mark.parametrize("count", [2, 6])
def test_a_persons_list_of_copies_takes_the_same_queries_however_long(
    count: int, django_assert_num_queries: Any
) -> None:
    person = UserFactory()
    _my_requests(count, person)
    _my_requests(3, UserFactory())
    client = _as(person)
    client.get(reverse("my-data:home"))
    with django_assert_num_queries(6):
        response = client.get(reverse("my-data:home"))
    assert len(re.findall(r'href="/me/data/copy/\d+/"', response.content.decode())) == count
