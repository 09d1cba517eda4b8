"""Consent: account links, grants and their event history, receipts, the consent check."""
