"""CI gate: 50 parallel wrong passwords against a real server lock the account, and none answers 500.

gunicorn runs in its own processes (2 workers, 4 threads each) on loopback against the test
database, so the count must hold across processes and threads exactly as in production; the
attempts come all at once from 50 client threads.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from axes.models import AccessAttempt

from compliance.models import AuditEntry
from conftest import database_url_for_worker
from portal.tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]
ATTEMPTS = 50

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """Start gunicorn on a free loopback port against the test database; stop it afterwards."""
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test", "DATABASE_URL": database_url_for_worker()}
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--threads", "4", "--timeout", "60",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/accounts/login/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


def _signed_in_form(url: str) -> tuple[dict[str, str], str]:
    """Return the cookies and CSRF token of a fresh sign-in page."""
    page = httpx.get(f"{url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    return dict(page.cookies), token.group(1)


def _try(url: str, email: str, password: str) -> int:
    cookies, token = _signed_in_form(url)
    with httpx.Client(cookies=cookies, timeout=30) as client:
        response = client.post(
            f"{url}/accounts/login/",
            data={"username": email, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{url}/accounts/login/"},
        )
    return response.status_code


def test_fifty_parallel_wrong_passwords_lock_the_account(server: str) -> None:
    user = UserFactory()
    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = list(pool.map(lambda _: _try(server, user.email, "wrong-password-guess"), range(ATTEMPTS)))

    counted = Counter(statuses)
    assert set(counted) <= {200, 429}, counted  # a refusal or the lockout page; never a 500
    # One try at a time per account: exactly 10 passwords were checked, the other 40 refused unchecked.
    assert counted[200] == 9, counted
    assert AccessAttempt.objects.get(username=user.email).failures_since_start == 10
    assert AuditEntry.objects.filter(action="auth.login_failed").count() == ATTEMPTS

    assert _try(server, user.email, PASSWORD) == 429  # the right password no longer signs in
    assert not AuditEntry.objects.filter(action="auth.login", actor_id=str(user.pk)).exists()
