"""The scale world: `manage.py seed_scale --people N` fills PostgreSQL with a realistic portal, by COPY, for benchmarks.

Not part of the portal's running code: it writes rows directly (no services, no signals), in the shape
the services would have left them, so the pages, the API and the audit trail can be measured at a
million people. One module per part: `banks`, `people`, `traffic`, `trail`; `world` runs them in one
transaction; `copying` and `progress` write and count; `integrity` proves the keys afterwards.
"""

from .world import Report, WorldRefused, seed_world

__all__ = ["Report", "WorldRefused", "seed_world"]
