"""Compliance pages, one module per sub-domain: the trail, catalog reviews, reports (and a bank's own)."""
