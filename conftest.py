"""Fixtures every app's tests share: a real Celery worker process, Chromium, and personas."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db.backends.base.operations import BaseDatabaseOperations

from compliance.triggers import install_statements, remove_statements

# Every test runs under the audit-coverage check: audited state never changes without its entry.
pytest_plugins = ["compliance.testing.audit_coverage"]

ROOT = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "artifacts"

# Tests need the same process to reach Django's ORM from inside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# --- The audit table refuses DELETE and TRUNCATE, so test flushes lift its triggers for one statement.
_original_execute_sql_flush = BaseDatabaseOperations.execute_sql_flush


def _execute_sql_flush(self: BaseDatabaseOperations, sql_list: list[str]) -> None:
    if any("compliance_auditentry" in sql for sql in sql_list):
        sql_list = [*remove_statements(self.connection), *sql_list, *install_statements(self.connection)]
    _original_execute_sql_flush(self, sql_list)


BaseDatabaseOperations.execute_sql_flush = _execute_sql_flush  # type: ignore[method-assign]


# --- Each test starts with an empty cache: API rate-limit counters are keyed by the API key's id, and
# ids are reused after each test's rollback, so one test's requests must not count against the next.


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    from django.core.cache import cache

    cache.clear()


# --- Each test keeps the audit trail's checkpoint files in a folder of its own: the database is emptied
# between tests, and checkpoints of an earlier test's chain would (rightly) call this one truncated.


@pytest.fixture(autouse=True)
def _audit_checkpoint_dir(settings: Any, tmp_path: Path) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


# --- No test reaches DNS: outbound URLs are resolved through a table. The `.example` names the suite
# uses stand for a public address; IP literals stand for themselves; any other name does not resolve.
# A test of the address rule monkeypatches `portal.outbound_guard.resolver` with its own table.


@pytest.fixture(autouse=True)
def _test_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    from portal import outbound_guard

    class SuiteResolver(outbound_guard.StaticResolver):
        def __call__(self, host: str, port: int) -> list[outbound_guard.IPAddress]:
            if host.lower().rstrip(".").endswith((".example", ".example.com", ".example.org")):
                host = "public.example"
            return super().__call__(host, port)

    table = {"public.example": ["93.184.215.14"], "localhost": ["127.0.0.1", "::1"]}
    monkeypatch.setattr(outbound_guard, "resolver", SuiteResolver(table))


# --- A real Celery worker process on the real broker ------------------------------------------


def database_url_for_worker() -> str:
    """Return a DATABASE_URL that points a subprocess at the test database."""
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class CeleryWorkerProcess:
    """A `celery worker` subprocess against the test database and the configured broker (or `broker_url`)."""

    def __init__(self, log_path: Path, broker_url: str | None = None) -> None:
        self.log_path = log_path
        self.broker_url = broker_url
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        from portal.celery import app

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": database_url_for_worker(),
            **({"CELERY_BROKER_URL": self.broker_url} if self.broker_url else {}),
        }
        with app.connection_for_write(self.broker_url) as conn:  # leftovers of an earlier run must not run now
            for queue in ("default", "fraud"):
                if _queue_exists(conn, queue):
                    conn.default_channel.queue_purge(queue)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "portal", "worker",
                "--queues", "fraud,default", "--concurrency", "2", "--pool", "prefork",
                "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--hostname", self.name,
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The Celery worker exited early:\n{self.log_path.read_text()[-3000:]}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"The Celery worker was not ready in {timeout}s:\n{self.log_path.read_text()[-3000:]}")

    def stop(self, timeout: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def _queue_exists(conn: Any, queue: str) -> bool:
    try:
        conn.default_channel.queue_declare(queue=queue, passive=True)
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None, django_db_blocker: Any) -> Iterator[CeleryWorkerProcess]:
    """Yield a running worker process; tests that use it need `transactional_db`."""
    worker = CeleryWorkerProcess(ARTIFACTS / "celery-worker.log")
    with django_db_blocker.unblock():
        worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def wait_for(predicate: Any, timeout: float = 20, interval: float = 0.1) -> Any:
    """Return the predicate's first truthy value, or fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Gave up waiting after {timeout}s")


# --- Playwright on Debian's Chromium -----------------------------------------------------------

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Yield a Chromium browser driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it.")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """Yield a fresh browser page whose relative URLs go to the live test server."""
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/London", locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots and return its path."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_accessibility_violations(page: Any) -> list[str]:
    """Run axe-core in the page and return its serious and critical violations, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
