"""Account links, consent grants and their history (built out by the consent issue)."""
