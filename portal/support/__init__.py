"""Answering a support call: platform staff look up one person, read-only, each lookup audited with its reason."""
