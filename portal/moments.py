"""How the portal writes a day and a moment for people: one format ("5 Dec 2026", "5 Dec 2026, 14:05"), in local time.

Templates use the same formats through `|date:"j M Y"` and `|date:"j M Y, H:i"`; texts composed in
Python (inbox messages, consent events) call these so a date never reads "05 Dec" in one place and
"5 Dec" in another.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from django.utils import timezone
from django.utils.dateformat import format as date_format

DAY_FORMAT = "j M Y"
MOMENT_FORMAT = "j M Y, H:i"


def day(value: datetime, zone: tzinfo | None = None) -> str:
    """Return `value`'s day in `zone` (default: the current time zone), as "5 Dec 2026"."""
    return str(date_format(timezone.localtime(value, zone), DAY_FORMAT))


def moment(value: datetime, zone: tzinfo | None = None) -> str:
    """Return `value` in `zone` (default: the current time zone), as "5 Dec 2026, 14:05"."""
    return str(date_format(timezone.localtime(value, zone), MOMENT_FORMAT))
