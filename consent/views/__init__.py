"""Pages of the consent app by what the person is doing: their pages, linking, changing, withdrawing."""

from .changing import grant_narrow, grant_renew
from .dashboard import banks, dashboard, grant_detail, history, receipt, receipt_download
from .linking import consent_screen, link_callback, link_start
from .withdrawing import bank_revoke_all, grant_revoke, link_unlink, revoke_everything, undo_withdrawal

__all__ = [
    "bank_revoke_all",
    "banks",
    "consent_screen",
    "dashboard",
    "grant_detail",
    "grant_narrow",
    "grant_renew",
    "grant_revoke",
    "history",
    "link_callback",
    "link_start",
    "link_unlink",
    "receipt",
    "receipt_download",
    "revoke_everything",
    "undo_withdrawal",
]
