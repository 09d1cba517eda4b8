"""Erasure: remove a person's personal data everywhere, keep what the law requires, and still verify.

One transaction: consent ends every grant and link and pseudonymises the consent records it must keep
(`consent.services.erasure`); delivery clears payloads and inbox texts and queues each bank's signed
`person.erased` webhook (`delivery.services.erasure`); the person's account loses its name, address,
password and second factor and can no longer sign in; their archives are deleted; and every audit entry
about them (or by them, or naming their address) is erased: its labels, data and address replaced by
the salted commitment its hash already covered, so the chain verifies as before (`compliance.audit.entries`).
Entries written before erasable entries existed (no salt) cannot be erased without breaking the chain;
they are counted and left (there are none on a database created since).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from consent.services.erasure import consent_pseudonymise_person
from delivery.services.erasure import delivery_erase_person
from portal.errors import Conflict, PermissionDenied
from portal.models import User

from ..audit import audit_append
from ..audit.entries import ERASED_DATA, ERASED_LABEL, personal_commitment
from .archive import archive_path
from .holdings import audit_entries_about
from .models import DataRequest
from .policy import erased_email, is_compliance_staff, is_erased

BATCH = 2000


def _erase_entries(entries: Any) -> tuple[int, int]:
    """Replace the personal fields of `entries` by their commitment; return (erased, left as they were)."""
    erased = 0
    fields = ("id", "personal_salt", "actor_label", "target_label", "data_json", "ip")
    rows = entries.filter(personal_commitment="").exclude(personal_salt="").values_list(*fields)
    pending = list(rows.order_by("id")[:BATCH])
    while pending:
        values = [
            (pk, personal_commitment(salt, actor, target, data, ip)) for pk, salt, actor, target, data, ip in pending
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE compliance_auditentry SET actor_label = %s, target_label = %s, data_json = %s, ip = NULL,"
                " personal_salt = '', personal_commitment = %s WHERE id = %s",
                [(ERASED_LABEL, ERASED_LABEL, ERASED_DATA, commitment, pk) for pk, commitment in values],
            )
        erased += len(values)
        pending = list(rows.filter(id__gt=pending[-1][0]).order_by("id")[:BATCH])
    left = entries.filter(personal_salt="", personal_commitment="").count()
    return erased, left


def _close_account(person: User) -> None:
    person.email, person.full_name, person.is_active = erased_email(person), "", False
    person.set_unusable_password()
    person.save(update_fields=["email", "full_name", "is_active", "password"])
    person.groups.clear()
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal.models import RecoveryCodeDevice

    TOTPDevice.objects.filter(user=person).delete()
    RecoveryCodeDevice.objects.filter(user=person).delete()


def delete_files_after_commit(paths: list[Path]) -> None:
    """Delete these files once the transaction commits (a rollback keeps them)."""

    def delete() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    transaction.on_commit(delete)


def _delete_archives(person: User) -> int:
    requests = DataRequest.objects.filter(user=person).exclude(file_name="")
    paths = [path for path in map(archive_path, requests) if path is not None]
    delete_files_after_commit(paths)
    deleted = len(paths)
    DataRequest.objects.filter(user=person, state=DataRequest.State.READY).update(state=DataRequest.State.EXPIRED)
    DataRequest.objects.filter(user=person).exclude(file_name="").update(file_name="")
    return deleted


def person_erase(*, request: DataRequest, actor: User, ip: str | None = None) -> DataRequest:
    """Carry out a logged erasure request, all in one transaction with its audit entries; return it done."""
    if not is_compliance_staff(actor):
        raise PermissionDenied("Only compliance staff erase a person's data.", code="forbidden")
    with transaction.atomic():
        request = DataRequest.objects.select_for_update().get(pk=request.pk)
        if request.kind != DataRequest.Kind.ERASURE or request.state != DataRequest.State.QUEUED:
            raise Conflict("This request is not an erasure waiting to be carried out.", code="not_erasable")
        person = User.objects.select_for_update().get(pk=request.user_id)
        if is_erased(person):
            raise Conflict("This person has already been erased.", code="already_erased")
        if person.pk == actor.pk:
            raise Conflict("Ask a colleague to erase your own account.", code="own_account")
        email = person.email
        links_by_bank = consent_pseudonymise_person(person=person, actor=actor)
        counts = delivery_erase_person(person=person, links_by_bank=links_by_bank)
        counts["archives"] = _delete_archives(person)
        _close_account(person)
        counts["audit_entries"], counts["audit_entries_unerasable"] = _erase_entries(
            audit_entries_about(person, email, thorough=True)
        )
        request.state, request.finished_at = DataRequest.State.DONE, timezone.now()
        request.done = request.total = sum(counts.values())
        request.save(update_fields=["state", "finished_at", "done", "total"])
        # Written after the erasure of the person's entries, so it stays readable: it names no one.
        audit_append(
            action="data_request.person_erased",
            actor=actor,
            target=request,
            data={**counts, "banks": sorted(links_by_bank)},
            ip=ip,
        )
    return request
