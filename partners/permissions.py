"""Which guardian permissions each member role holds on its own bank."""

from __future__ import annotations

from .models import PartnerMembership

VIEW = "partners.view_partner"
MANAGE = "partners.manage_partner"
MANAGE_MEMBERS = "partners.manage_members"
VIEW_TRAIL = "partners.view_trail"

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    PartnerMembership.Role.MANAGER: ("view_partner", "manage_partner", "manage_members", "view_trail"),
    PartnerMembership.Role.DEVELOPER: ("view_partner", "manage_partner"),
    # The compliance contact (and the managers, who may do everything) read the bank's slice of the trail.
    PartnerMembership.Role.COMPLIANCE: ("view_partner", "view_trail"),
}
