"""factory_boy factories for people."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import Group

from portal.models import COMPLIANCE_STAFF_GROUP, PLATFORM_STAFF_GROUP, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    """An end user who can sign in with `PASSWORD`."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()


class PlatformStaffFactory(UserFactory):
    """A member of platform staff (admin access included)."""

    is_staff = True

    @factory.post_generation
    def staff_group(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.groups.add(Group.objects.get_or_create(name=PLATFORM_STAFF_GROUP)[0])


class ComplianceStaffFactory(UserFactory):
    """A member of compliance staff."""

    @factory.post_generation
    def compliance_group(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.groups.add(Group.objects.get_or_create(name=COMPLIANCE_STAFF_GROUP)[0])
