"""Signals consent sends; delivery subscribes (consent imports no app after it)."""

from django.dispatch import Signal

# Sent inside the changing transaction whenever grants change (receivers only write rows, so the
# change and its consequences commit together): kwargs `grant_ids` (list[int]), `link_id`, `partner_id`,
# and `event`, one of "granted", "revoked", "expired", "narrowed", "unlinked", "shortened" (a new scope
# version capped the expiry), "scope_changed" (a new scope version left the grant as it was: fewer
# fields, or more to review). A renewal is sent as "granted" (the bank learns the new expiry).
# Delivery cancels queued sends the change no longer allows and tells the bank through its consent.* webhooks.
consent_changed = Signal()

# Sent inside the reminding transaction when a person is reminded that grants expire soon: kwargs `user_id` and
# `grant_ids` (list[int]). Delivery may add the inbox message; consent has already sent the email.
consent_expiry_reminded = Signal()

# Sent inside the publishing transaction once per person whose grants a new scope version changed:
# kwargs `user_id`, `partner_id`, `scope_name` and `changes` (list[str], one plain sentence per grant).
# Delivery puts it in the person's inbox.
consent_scope_changed = Signal()

# The values `event` takes in `consent_changed`.
GRANTED = "granted"
REVOKED = "revoked"
EXPIRED = "expired"
NARROWED = "narrowed"
UNLINKED = "unlinked"
SHORTENED = "shortened"
SCOPE_CHANGED = "scope_changed"
CONSENT_CHANGE_EVENTS = (GRANTED, REVOKED, EXPIRED, NARROWED, UNLINKED, SHORTENED, SCOPE_CHANGED)
# The changes after which a queued send may no longer be allowed.
ENDING_EVENTS = (REVOKED, EXPIRED, NARROWED, UNLINKED)
