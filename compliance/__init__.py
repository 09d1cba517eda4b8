"""Compliance: the tamper-evident audit trail, reviews, reports, exports and retention."""
