"""The API's per-key rate limit is one limit across processes when the cache is Redis (CACHE_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from partners.api.throttling import ApiKeyRateThrottle
from partners.models import PartnerApiKey
from partners.tests.factories import PartnerFactory, api_key_for

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("CELERY_BROKER_URL", "")

# Another process counting hits on the same key through the same throttle and the same cache.
OTHER_PROCESS = """
import json, os, sys, types
import django
django.setup()
from django.test import override_settings
from partners.api.throttling import ApiKeyRateThrottle
from partners.models import PartnerApiKey
ApiKeyRateThrottle.THROTTLE_RATES = {"api_key": "10/min"}
request = types.SimpleNamespace(auth=PartnerApiKey(pk=int(sys.argv[1])))
with override_settings(CACHES=json.loads(os.environ["SHARED_CACHES"])):
    print(json.dumps([ApiKeyRateThrottle().allow_request(request, None) for _ in range(10)]))
"""


@pytest.mark.skipif(not BROKER.startswith("redis://"), reason="needs the Redis the suite's broker runs on")
@pytest.mark.django_db
def test_two_processes_share_one_limit_through_redis(client: Client, monkeypatch: Any) -> None:
    # The suite's Redis database, under a prefix of this test's own (never cleared: the broker lives there).
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": BROKER,
            "KEY_PREFIX": f"shared-limit-{uuid.uuid4().hex}",
        }
    }
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "10/min"})
    bank = PartnerFactory()
    headers = {"authorization": f"Bearer {api_key_for(bank)}"}
    key_id = PartnerApiKey.objects.get(partner=bank).pk
    with override_settings(CACHES=caches):
        assert [client.get("/api/v1/partner/", headers=headers).status_code for _ in range(4)] == [200] * 4
        other = subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS, str(key_id)],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test", "SHARED_CACHES": json.dumps(caches)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        # The other process saw this one's 4 hits: 6 more allowed, then refused.
        assert json.loads(other.stdout.strip().splitlines()[-1]) == [True] * 6 + [False] * 4
        refused = client.get("/api/v1/partner/", headers=headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"


@pytest.mark.parametrize("cache_url", [None, "locmemcache://", "dummycache://"])
def test_production_settings_refuse_to_start_without_a_shared_cache(cache_url: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    env.update(DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="portal.example.com", AUDIT_SIGNING_KEY="A" * 43 + "=")
    if cache_url:
        env["CACHE_URL"] = cache_url
    started = subprocess.run(
        [sys.executable, "-c", "import portal.settings.production"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "ImproperlyConfigured: Set CACHE_URL to a cache every process shares" in started.stderr
    env["CACHE_URL"] = "redis://127.0.0.1:6379/1"
    assert (
        subprocess.run([sys.executable, "-c", "import portal.settings.production"], cwd=ROOT, env=env).returncode == 0
    )
