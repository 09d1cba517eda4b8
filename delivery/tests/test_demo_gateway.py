"""The gateway receiver verifies signatures, dedupes on the delivery id and misbehaves on request."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

from delivery.demo_gateway import GatewayReceiver
from delivery.signing import sign_headers

SECRET = "whsec_" + base64.b64encode(b"g" * 32).decode()


def _post(url: str, msg_id: str, body: dict[str, object], secret: str = SECRET) -> int:
    raw = json.dumps(body).encode()
    request = urllib.request.Request(url, data=raw, method="POST", headers=sign_headers([secret], msg_id, raw))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_dedupes_verifies_and_fails_on_request() -> None:
    with GatewayReceiver(SECRET) as gateway:
        assert _post(gateway.url, "d1", {"n": 1}) == 200
        assert _post(gateway.url, "d1", {"n": 1}) == 200
        assert _post(gateway.url, "d2", {"n": 2}, secret="whsec_" + base64.b64encode(b"x" * 32).decode()) == 401
        gateway.state.fail_next = 2
        assert _post(gateway.url, "d3", {"n": 3}) == 503
        assert _post(gateway.url, "d3", {"n": 3}) == 503
        assert _post(gateway.url, "d3", {"n": 3}) == 200
        assert gateway.state.stats() == {"unique": 2, "duplicates": 1, "rejected": 1}
