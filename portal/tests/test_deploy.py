"""The README's deployment steps under production settings: static files collect into a fresh folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# collectstatic in its own process, so that production settings (manifest storage, no finders) are
# the ones in force, with STATIC_ROOT pointed at a folder of the test's own.
COLLECT = """
import sys
import django
from django.core.management import call_command
from django.test.utils import override_settings

django.setup()
with override_settings(STATIC_ROOT=sys.argv[1]):
    call_command("collectstatic", interactive=False, verbosity=0)
"""


def production_env() -> dict[str, str]:
    """Return the environment of a production process, with a throwaway secret."""
    # The test suite's own allowance for Playwright (conftest.py) and the loopback gateway that delivery's
    # tests point their workers at (delivery/tests/conftest.py) are no production settings.
    suite_only = {"DJANGO_ALLOW_ASYNC_UNSAFE", "PORTAL_GATEWAY_URL", "PORTAL_GATEWAY_SECRET"}
    inherited = {name: value for name, value in os.environ.items() if name not in suite_only}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": "deploy-test-key-" + "x7Qp" * 12,
        "DJANGO_ALLOWED_HOSTS": "portal.example.com",
        "AUDIT_SIGNING_KEY": "ZGVwbG95LXRlc3QtYXVkaXQtc2lnbmluZy1rZXktMzI=",
        # Production refuses to start without a cache every process shares; nothing here connects to it.
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/1"),
    }


def test_collectstatic_works_under_production_settings(tmp_path: Path) -> None:
    env = production_env()
    result = subprocess.run(
        [sys.executable, "-c", COLLECT, str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    swagger = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"
    for name in ("vendor/chartjs/chart.umd.js", "css/portal.css", swagger):
        assert name in manifest, name
        assert (tmp_path / manifest[name]).is_file()
    # WhiteNoise's compressed copies are what production serves.
    assert (tmp_path / (manifest["vendor/chartjs/chart.umd.js"] + ".gz")).is_file()


def test_the_deployment_checklist_stays_clean() -> None:
    # HSTS, nosniff, secure cookies and frame denial come from production settings; the CSP from base.
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
