"""Partner events, outbox rows, deliveries and attempts (built out by the delivery issue)."""
