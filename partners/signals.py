"""Signals partners sends; consent and delivery subscribe (partners imports neither)."""

from django.dispatch import Signal

# Every signal here is sent inside the changing service's transaction. Receivers only write rows
# (grants ended, consent events, audit entries, cancelled deliveries, webhook messages), so a change
# and its consequences commit together or not at all; whatever leaves the process (broker, HTTP,
# email) is published from those rows after commit, and re-sent by a sweeper if the process died.

# A bank's status changed (the bank's row is locked): kwargs partner, old_status, new_status.
partner_status_changed = Signal()
# A scope version was published (the scope's row is locked): kwargs scope, version, previous (or None).
scope_published = Signal()
# A scope was retired (the scope's row is locked): kwargs scope.
scope_retired = Signal()
# New usage terms were published: kwargs terms.
terms_published = Signal()
