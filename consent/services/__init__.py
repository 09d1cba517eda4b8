"""Every write to consent, by sub-domain: linking, granting, revoking, undoing, expiry, attestation; each audited.

Callers import from here; the modules behind it are the package's own business.
"""

from ..refusals import AuthorisationRefused
from .attestation import consent_attest_deletion
from .expiry import consent_expire_due, consent_send_expiry_reminders, reminder_lead_time
from .following import consent_follow_scope_version
from .granting import GrantChoice, consent_grant, consent_narrow, consent_renew
from .linking import link_complete, link_create, link_start, link_unlink
from .revoking import (
    consent_revoke,
    consent_revoke_all_at_bank,
    consent_revoke_everything,
    consent_revoke_where,
    deletion_deadline,
)
from .undoing import consent_undo_withdrawal

__all__ = [
    "AuthorisationRefused",
    "GrantChoice",
    "consent_attest_deletion",
    "consent_expire_due",
    "consent_follow_scope_version",
    "consent_grant",
    "consent_narrow",
    "consent_renew",
    "consent_revoke",
    "consent_revoke_all_at_bank",
    "consent_revoke_everything",
    "consent_revoke_where",
    "consent_send_expiry_reminders",
    "consent_undo_withdrawal",
    "deletion_deadline",
    "link_complete",
    "link_create",
    "link_start",
    "link_unlink",
    "reminder_lead_time",
]
