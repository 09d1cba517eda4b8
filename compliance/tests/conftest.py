"""Compliance test fixtures: a checkpoint folder of the session's own for any worker process it starts."""

from __future__ import annotations

import os
import tempfile

# Set before a worker process starts (workers copy the environment): a verification run on the worker
# must not read checkpoints of another chain (a developer's, an earlier run's) and call this one truncated.
os.environ.setdefault("AUDIT_CHECKPOINT_DIR", tempfile.mkdtemp(prefix="audit-checkpoints-worker-"))
