"""Data-subject requests: a person's archive of everything held about them, and their erasure."""
