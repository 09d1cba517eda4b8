"""What a worker process of parallel verification runs: set Django up, then verify one stretch.

Kept outside `compliance.audit` and free of imports from Django's models, because a spawned worker
loads this module before Django is set up.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance.audit.verify import Marks, Stretch


def start_worker(settings_module: str, database: dict[str, Any]) -> None:
    """Set up Django in a fresh worker process, on the very database the caller verifies."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()
    from django.db import connections

    connections["default"].settings_dict.update(database)


def verify_one_stretch(first: int, last: int, previous: str, marks: Marks) -> Stretch:
    """Verify the links from `first` to `last` (see `compliance.audit.verify.verify_stretch`)."""
    from compliance.audit.verify import verify_stretch

    return verify_stretch(first, last, previous, marks)
