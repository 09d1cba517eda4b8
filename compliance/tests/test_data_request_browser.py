"""In Chromium, as a person would: ask for a copy of their data, watch its progress, download it."""

from __future__ import annotations

import json
import zipfile
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from compliance.data_requests.archive import archive_path
from compliance.data_requests.models import DataRequest
from compliance.tasks import data_archive_build
from compliance.tests.data_subjects import two_subjects
from conftest import screenshot, serious_accessibility_violations
from portal.models import User
from portal.tests.signing_in import sign_in_verified

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, live_server: Any, user: User) -> None:
    client = Client()
    sign_in_verified(client, user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def _looks_right(page: Any, name: str) -> None:
    screenshot(page, name)
    assert serious_accessibility_violations(page) == [], name


def test_a_person_downloads_their_data(page: Any, live_server: Any, celery_worker_process: Any, tmp_path: Any) -> None:
    world = two_subjects()
    alice = world.alice
    _sign_in(page, live_server, alice.user)
    page.goto("/me/")
    page.get_by_role("link", name="Download my data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    _looks_right(page, "dsr-01-my-data")
    page.get_by_role("button", name="Download my data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("A copy of your data")
    # The worker builds it; the page's poll sees it finish and shows the download.
    expect(page.get_by_role("link", name="Download the copy")).to_be_visible(timeout=30_000)
    _looks_right(page, "dsr-03-ready")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the copy").click()
    saved = tmp_path / "copy.zip"
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as zipped:
        data = json.loads(zipped.read("data.json"))
        html = zipped.read("index.html").decode()
    assert data["person"]["email"] == alice.email
    assert alice.inbox_title in html
    assert world.bob.email not in html
    (tmp_path / "archive").mkdir()
    with zipfile.ZipFile(saved) as zipped:
        zipped.extractall(tmp_path / "archive")
    page.goto(f"file://{tmp_path}/archive/index.html")
    expect(page.get_by_role("heading", name="Your inbox")).to_be_visible()
    screenshot(page, "dsr-04-archive-page")
    for request in DataRequest.objects.all():
        path = archive_path(request)
        if path is not None:
            path.unlink(missing_ok=True)


def test_the_progress_bar_follows_the_job(page: Any, live_server: Any, celery_worker_process: Any) -> None:
    world = two_subjects()
    person = world.alice.user
    # Made directly and not yet sent to the worker, so the page is seen while the copy waits.
    request = DataRequest.objects.create(user=person, kind="archive", requested_by=person)
    _sign_in(page, live_server, person)
    page.goto(f"/me/data/copy/{request.pk}/")
    bar = page.locator("progress")
    expect(bar).to_have_attribute("value", "0")
    DataRequest.objects.filter(pk=request.pk).update(state="running", done=40, total=100)
    expect(bar).to_have_attribute("value", "40")  # the poll moved it, with no reload
    expect(page.get_by_role("status")).to_contain_text("40 of 100 records")
    page.set_viewport_size({"width": 390, "height": 800})
    _looks_right(page, "dsr-02-progress-390")
    DataRequest.objects.filter(pk=request.pk).update(state="queued", done=0)
    data_archive_build.delay(request.pk)  # type: ignore[attr-defined]
    expect(page.get_by_role("link", name="Download the copy")).to_be_visible(timeout=30_000)
    done = DataRequest.objects.get(pk=request.pk)
    assert done.state == DataRequest.State.READY
    assert done.done == done.total > 0
    path = archive_path(done)
    assert path is not None
    path.unlink(missing_ok=True)


def test_compliance_logs_an_erasure_and_carries_it_out(page: Any, live_server: Any) -> None:
    from portal.tests.factories import ComplianceStaffFactory

    world = two_subjects()
    _sign_in(page, live_server, ComplianceStaffFactory())
    page.goto("/compliance/data-requests/")
    page.get_by_label("The person's email address").fill(world.alice.email)
    page.get_by_label("Erasure").check()
    page.get_by_label("Why").fill("Their letter of 3 May asking to be forgotten")
    page.get_by_label("Reference (optional)").fill("DSR-2026-7")
    page.get_by_role("button", name="Log the request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Erasure for {world.alice.email}")
    _looks_right(page, "dsr-05-erasure-confirm")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")  # the box is not ticked
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_text("Erased", exact=False).first).to_be_visible()
    page.goto("/compliance/data-requests/")
    expect(page.get_by_role("cell", name=world.alice.email)).to_have_count(0)
    _looks_right(page, "dsr-06-requests-list")
    page.set_viewport_size({"width": 390, "height": 800})
    _looks_right(page, "dsr-07-requests-list-390")
