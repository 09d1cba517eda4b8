"""Every write of delivery, by sub-domain; callers import the public names from here."""

from .cancelling import delivery_cancel_for_consent, delivery_cancel_for_partner, delivery_replay
from .inbox import inbox_mark_read, inbox_remind_expiry, inbox_tell_scope_change
from .intake import IntakeItem, event_intake
from .outbox import outbox_sweep
from .sending import BatchOutcome, delivery_send_batch
from .webhooks import webhook_notify, webhook_notify_every_bank, webhook_replay, webhook_send

__all__ = [
    "BatchOutcome",
    "IntakeItem",
    "delivery_cancel_for_consent",
    "delivery_cancel_for_partner",
    "delivery_replay",
    "delivery_send_batch",
    "event_intake",
    "inbox_mark_read",
    "inbox_remind_expiry",
    "inbox_tell_scope_change",
    "outbox_sweep",
    "webhook_notify",
    "webhook_notify_every_bank",
    "webhook_replay",
    "webhook_send",
]
