"""The `__any` lookup: the same rows as `__in`, with the ids as one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import User
from portal.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_any_finds_what_in_finds_in_one_parameter() -> None:
    users = UserFactory.create_batch(3)
    ids = [users[0].pk, users[2].pk, 10**9]
    with CaptureQueriesContext(connection) as queries:
        found = set(User.objects.filter(pk__any=ids).values_list("pk", flat=True))
    assert found == set(User.objects.filter(pk__in=ids).values_list("pk", flat=True)) == {users[0].pk, users[2].pk}
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"]
    assert not User.objects.filter(pk__any=[])
    assert set(User.objects.filter(pk__any=User.objects.filter(pk=users[1].pk).values("pk"))) == {users[1]}


def test_any_works_on_a_foreign_key_column() -> None:
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="any-lookup")
    user = UserFactory()
    user.groups.add(group)
    memberships = User.groups.through.objects
    assert list(memberships.filter(user_id__any=[user.pk]).values_list("group_id", flat=True)) == [group.pk]
