"""Stand-ins for services, some of which forget their audit entry: what the coverage check's tests judge."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from compliance.audit import audit_append
from partners.models import Partner
from portal.models import PLATFORM_STAFF_GROUP, User


def rename_without_audit(partner: Partner) -> None:
    with transaction.atomic():
        Partner.objects.filter(pk=partner.pk).update(legal_name="Renamed plc")


@transaction.atomic
def rename_in_a_decorated_service(partner: Partner) -> None:
    Partner.objects.filter(pk=partner.pk).update(legal_name="Renamed plc")


def rename_with_audit(partner: Partner) -> None:
    with transaction.atomic():
        Partner.objects.filter(pk=partner.pk).update(legal_name="Renamed plc")
        audit_append(action="partner.rename", target=partner)


def rename_then_audit_apart(partner: Partner) -> None:
    rename_without_audit(partner)
    audit_append(action="partner.rename", target=partner)  # a transaction of its own: too late


def suspend_outside_any_transaction(partner: Partner) -> None:
    Partner.objects.filter(pk=partner.pk).update(status=Partner.Status.SUSPENDED)


def rename_in_a_savepoint_rolled_back(partner: Partner) -> None:
    with transaction.atomic():
        try:
            with transaction.atomic():
                Partner.objects.filter(pk=partner.pk).update(legal_name="Renamed plc")
                raise RuntimeError("changed my mind")
        except RuntimeError:
            pass


def delete_then_fail(partner: Partner) -> None:
    with transaction.atomic():
        partner.delete()
        raise RuntimeError("changed my mind")


def save_promote_and_delete(person: User, partner: Partner) -> None:
    with transaction.atomic():
        person.full_name = "Someone Else"
        person.save()
        person.groups.add(Group.objects.get(name=PLATFORM_STAFF_GROUP))
        partner.delete()


def touch_last_login(person: User) -> None:
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(last_login=person.date_joined)
