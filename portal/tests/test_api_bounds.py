"""Bounded input on the partner API: body size, nesting depth and page size, each refused with its code."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client

from partners.tests.factories import PartnerFactory, api_key_for
from portal.api.parsers import BoundedJSONParser
from portal.errors import ApplicationError

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture
def headers() -> dict[str, str]:
    return {"authorization": f"Bearer {api_key_for(PartnerFactory())}"}


def post(client: Client, path: str, body: str | bytes, headers: dict[str, str]) -> Any:
    return client.post(path, body, content_type="application/json", headers=headers)


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("path", ["/api/v1/events/", "/api/v1/scopes/", "/api/v1/capabilities/"])
def test_a_hundred_thousand_open_brackets_are_malformed_json_not_a_crash(
    client: Client, headers: dict[str, str], path: str
) -> None:
    response = post(client, path, "[" * 100_000, headers)
    assert error(response) == (400, "malformed_json")
    assert "levels deep" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/events/", "/api/v1/scopes/"])
def test_valid_json_nested_deeper_than_any_request_needs_is_refused(
    client: Client, headers: dict[str, str], path: str
) -> None:
    assert error(post(client, path, json.dumps({"events": json.loads(nested(40))}), headers)) == (400, "malformed_json")
    # The contract's own depth is fine: the answer is about the content, not the shape.
    shallow = post(client, path, json.dumps({"events": json.loads(nested(8))}), headers).json()
    assert shallow.get("error", {}).get("code") != "malformed_json"


def test_a_single_call_over_1_mb_answers_413_with_the_envelope(client: Client, headers: dict[str, str]) -> None:
    body = json.dumps({"code": "big.read", "description": "x" * MB})
    response = post(client, "/api/v1/scopes/", body, headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "1024 KB" in response.json()["error"]["message"]


def test_a_batch_may_be_larger_but_not_over_5_mb(client: Client, headers: dict[str, str]) -> None:
    event = {"type": "balance_update", "link": 1, "payload": {"note": "x" * 7000}}
    two_mb = json.dumps({"events": [event] * 300})
    assert 1 * MB < len(two_mb) < 5 * MB
    assert post(client, "/api/v1/events/", two_mb, headers).status_code != 413
    six_mb = json.dumps({"events": [event] * 900})
    assert error(post(client, "/api/v1/events/", six_mb, headers)) == (413, "payload_too_large")


def test_without_a_key_the_body_is_never_read(client: Client) -> None:
    response = post(client, "/api/v1/scopes/", "x" * (2 * MB), {})
    assert error(response) == (401, "not_authenticated")


class CountingStream(io.BytesIO):
    """A request body that remembers how many bytes were read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk


class FakeRequest:
    def __init__(self, meta: dict[str, str]) -> None:
        self.META = meta


@pytest.mark.parametrize("meta", [{}, {"CONTENT_LENGTH": "10"}])  # no length, or a lie about it
def test_the_parser_stops_reading_at_the_limit_whatever_the_declared_length(meta: dict[str, str]) -> None:
    stream = CountingStream(b"[" + b"1," * (20 * MB) + b"1]")
    with pytest.raises(ApplicationError) as refused:
        BoundedJSONParser().parse(stream, "application/json", {"request": FakeRequest(meta), "view": None})
    assert (refused.value.code, refused.value.status) == ("payload_too_large", 413)
    assert stream.read_bytes == MB + 1


def test_the_parser_refuses_a_declared_length_over_the_limit_without_reading() -> None:
    stream = CountingStream(b"{}")
    with pytest.raises(ApplicationError):
        BoundedJSONParser().parse(stream, None, {"request": FakeRequest({"CONTENT_LENGTH": str(40 * MB)})})
    assert stream.read_bytes == 0


@pytest.mark.parametrize("size", ["501", "1000000000", "-1"])
def test_page_sizes_are_capped_at_500(client: Client, headers: dict[str, str], size: str) -> None:
    response = client.get("/api/v1/consents/", {"page_size": size}, headers=headers)
    assert error(response) == (400, "invalid")
    assert response.json()["error"]["fields"]["page_size"] == ["Use a whole number from 1 to 500, once."]
