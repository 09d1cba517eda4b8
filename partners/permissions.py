"""Which guardian permissions each member role holds on its own bank."""

from __future__ import annotations

from .models import PartnerMembership

VIEW = "partners.view_partner"
MANAGE = "partners.manage_partner"
MANAGE_MEMBERS = "partners.manage_members"
VIEW_TRAIL = "partners.view_trail"

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    PartnerMembership.Role.MANAGER: ("view_partner", "manage_partner", "manage_members"),
    PartnerMembership.Role.DEVELOPER: ("view_partner", "manage_partner"),
    # The bank's compliance contact reads the bank's slice of the audit trail (read-only, own bank only).
    PartnerMembership.Role.COMPLIANCE: ("view_partner", "view_trail"),
}
