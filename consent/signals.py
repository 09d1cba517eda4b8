"""Signals consent sends; delivery subscribes (consent imports no app after it)."""

from django.dispatch import Signal

# Sent inside the changing transaction whenever grants change (receivers only write rows, so the
# change and its consequences commit together): kwargs `grant_ids` (list[int]), `link_id`, `partner_id`,
# and `event`, one of "granted", "revoked", "expired", "narrowed", "unlinked". A renewal is sent as
# "granted" (the bank learns the new expiry). Delivery cancels queued sends on anything but
# "granted" and tells the bank through its consent.* webhooks.
consent_changed = Signal()

# Sent inside the reminding transaction when a person is reminded that grants expire soon: kwargs `user_id` and
# `grant_ids` (list[int]). Delivery may add the inbox message; consent has already sent the email.
consent_expiry_reminded = Signal()

# The values `event` takes in `consent_changed`.
GRANTED = "granted"
REVOKED = "revoked"
EXPIRED = "expired"
NARROWED = "narrowed"
UNLINKED = "unlinked"
CONSENT_CHANGE_EVENTS = (GRANTED, REVOKED, EXPIRED, NARROWED, UNLINKED)
