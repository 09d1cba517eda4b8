"""Writes to people: who may deactivate whom, and what the trail keeps."""

from __future__ import annotations

import pytest

from compliance.models import AuditEntry
from portal.errors import PermissionDenied
from portal.services import user_deactivate
from portal.tests.factories import ComplianceStaffFactory, PlatformStaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_only_platform_staff_deactivate_people() -> None:
    person = UserFactory()
    for actor in (UserFactory(), ComplianceStaffFactory(), None):
        with pytest.raises(PermissionDenied):
            user_deactivate(user=person, actor=actor)
    person.refresh_from_db()
    assert person.is_active


def test_deactivating_twice_leaves_one_entry() -> None:
    person, staff = UserFactory(), PlatformStaffFactory()
    user_deactivate(user=person, actor=staff, ip="192.0.2.1")
    user_deactivate(user=person, actor=staff, ip="192.0.2.1")
    entry = AuditEntry.objects.get(action="user.deactivate")
    assert (entry.actor_id, entry.target_id, entry.ip) == (str(staff.pk), str(person.pk), "192.0.2.1")
