"""When to try a failed send again: DESIGN.md's schedule with jitter, and `Retry-After`."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .outbound import PostResult

# Seconds before attempt 2, 3, ...: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2  # ± 20 %, so that a burst of failures does not retry in lockstep
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 413, 415, 422})


def retry_delay_for(result: PostResult, *, attempt: int) -> float | None:
    """Return seconds to wait after failed POST number `attempt` (1-based), or None to give up.

    The retry decision of deliveries and webhooks alike: a permanent 4xx is never retried; anything
    else follows the schedule, honouring the answer's `Retry-After`.
    """
    if result.status_code is not None and is_permanent(result.status_code):
        return None
    return retry_delay(attempt, retry_after=result.retry_after)


def retry_delay(attempt: int, *, retry_after: str | None = None, rng: random.Random | None = None) -> float | None:
    """Return seconds to wait after failed attempt number `attempt` (1-based), or None to stop."""
    if attempt >= MAX_ATTEMPTS:
        return None
    base = float(SCHEDULE[attempt - 1])
    honoured = parse_retry_after(retry_after)
    if honoured is not None:
        return max(honoured, 1.0)
    spread = (rng or random).uniform(-JITTER, JITTER)
    return base * (1 + spread)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return a `Retry-After` header's delay in seconds (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_permanent(status: int) -> bool:
    """Return True for a 4xx that will not get better by retrying (429 and 408 do)."""
    return status in PERMANENT_STATUSES
