"""Who may see and download a data request: the one rule, called by every page and service."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from portal.models import User

from .models import DataRequest

# Logged by compliance staff: someone other than the person asked (or the staff member has gone).
LOGGED_BY_STAFF = Q(requested_by__isnull=True) | ~Q(requested_by_id=F("user_id"))

ERASED_DOMAIN = "erased.invalid"


def erased_email(person: User) -> str:
    """Return the address an erased person's account keeps (unique, and deliverable nowhere)."""
    return f"erased-{person.pk}@{ERASED_DOMAIN}"


def is_erased(person: User) -> bool:
    """Return True once the person has been erased."""
    return person.email == erased_email(person)


def is_compliance_staff(user: User) -> bool:
    """Return True for compliance staff (they log and handle requests)."""
    return user.has_role(User.Role.COMPLIANCE_STAFF)


def data_requests_visible_to(user: User) -> QuerySet[DataRequest]:
    """Return the requests `user` may see and download.

    A person asking for their own copy is its only reader; requests compliance staff log are read by
    compliance staff (the team answers the person), never by the person or anyone else.
    """
    requests = DataRequest.objects.select_related("user", "requested_by")
    own = Q(user=user, requested_by=user)
    if is_compliance_staff(user):
        return requests.filter(LOGGED_BY_STAFF | own)
    return requests.filter(own)
