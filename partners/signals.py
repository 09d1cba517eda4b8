"""Signals partners sends; consent and delivery subscribe (partners imports neither)."""

from django.dispatch import Signal

# Sent after commit when a bank's status changes: kwargs partner, old_status, new_status.
partner_status_changed = Signal()
# Sent after commit when a scope version is published: kwargs scope, version, previous (or None).
scope_published = Signal()
# Sent after commit when a scope is retired: kwargs scope.
scope_retired = Signal()
# Sent after commit when new usage terms are published: kwargs terms.
terms_published = Signal()
