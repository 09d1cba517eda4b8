"""Delivery: inbound partner events, the outbox, Celery tasks, channels, webhooks and retries."""
