"""Webhook signatures and the retry schedule."""

from __future__ import annotations

import base64
import random

import pytest

from delivery.backoff import MAX_ATTEMPTS, SCHEDULE, is_permanent, parse_retry_after, retry_delay, retry_delay_for
from delivery.outbound import PostResult
from delivery.signing import SignatureError, sign_headers, signature, verify

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The example from the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_verify_accepts_either_secret_during_rotation_and_rejects_tampering() -> None:
    body = b'{"type":"consent.revoked"}'
    headers = sign_headers([SECRET, OTHER], "msg_1", body, timestamp=1_000_000)
    assert verify(SECRET, headers, body, now=1_000_010) == "msg_1"
    assert verify(OTHER, headers, body, now=1_000_010) == "msg_1"
    with pytest.raises(SignatureError, match="no signature"):
        verify(SECRET, headers, body + b" ", now=1_000_010)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, headers, body, now=1_000_000 + 301)
    with pytest.raises(SignatureError, match="malformed"):
        verify(SECRET, {}, body)


def test_schedule_has_jitter_and_stops() -> None:
    rng = random.Random(7)
    delays = [retry_delay(n, rng=rng) for n in range(1, MAX_ATTEMPTS)]
    for delay, base in zip(delays, SCHEDULE, strict=True):
        assert delay is not None
        assert base * 0.8 <= delay <= base * 1.2
    assert retry_delay(MAX_ATTEMPTS) is None


def test_retry_after_is_honoured() -> None:
    assert retry_delay(1, retry_after="120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (404, True), (410, True), (408, False), (429, False)])
def test_permanent_statuses(status: int, permanent: bool) -> None:
    assert is_permanent(status) is permanent


def test_one_retry_decision_for_deliveries_and_webhooks() -> None:
    assert retry_delay_for(PostResult(404, 5, retry_after="30"), attempt=1) is None  # permanent: Retry-After or not
    assert retry_delay_for(PostResult(429, 5, retry_after="30"), attempt=1) == 30
    no_answer = retry_delay_for(PostResult(None, 5, error="ConnectError: refused"), attempt=2)
    assert no_answer is not None
    assert SCHEDULE[1] * 0.8 <= no_answer <= SCHEDULE[1] * 1.2
    assert retry_delay_for(PostResult(503, 5), attempt=MAX_ATTEMPTS) is None


def test_a_failure_reads_as_the_error_or_the_answer() -> None:
    assert PostResult(None, 5, error="ConnectError: refused").failure == "ConnectError: refused"
    assert PostResult(503, 5, excerpt="busy" * 100).failure == "HTTP 503: " + ("busy" * 50)
