"""Asking for a data request: logged by compliance staff, or a person's own "download my data"; downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction

from portal.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from portal.models import User

from ..audit import audit_append
from .archive import archive_path
from .models import DataRequest
from .policy import data_requests_visible_to, is_compliance_staff, is_erased


def _queue_archive(request: DataRequest) -> None:
    from ..tasks import data_archive_build

    data_archive_build.delay_on_commit(request.pk)  # type: ignore[attr-defined]


def data_request_log(
    *, person: User, kind: str, reason: str, reference: str = "", actor: User, ip: str | None = None
) -> DataRequest:
    """Log a request compliance staff received about `person`; an archive starts building at once.

    An erasure is only logged here: `person_erase` carries it out once staff confirm.
    """
    if not is_compliance_staff(actor):
        raise PermissionDenied("Only compliance staff log data requests.", code="forbidden")
    if kind not in DataRequest.Kind.values:
        raise ApplicationError(
            "Choose a copy of their data or an erasure.", code="invalid", fields={"kind": ["Choose one."]}
        )
    if not reason.strip():
        raise ApplicationError(
            "Say why (the person's letter, a regulator's question) so the trail shows the basis.",
            code="invalid",
            fields={"reason": ["Give the reason for the request."]},
        )
    if is_erased(person):
        raise Conflict("This person has already been erased.", code="already_erased")
    with transaction.atomic():
        request = DataRequest(
            user=person, kind=kind, reason=reason.strip()[:300], reference=reference.strip()[:100], requested_by=actor
        )
        request.full_clean()
        request.save()
        audit_append(
            action="data_request.logged",
            actor=actor,
            target=request,
            data={"kind": kind, "reference": request.reference},
            ip=ip,
        )
        if kind == DataRequest.Kind.ARCHIVE:
            _queue_archive(request)
    return request


def data_request_mine(*, person: User, ip: str | None = None) -> DataRequest:
    """Start building the person's own archive ("download my data"); an unfinished one is reused."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=person.pk).first()  # one request at a time per person
        waiting = (
            DataRequest.objects.filter(
                user=person,
                requested_by=person,
                kind=DataRequest.Kind.ARCHIVE,
                state__in=[DataRequest.State.QUEUED, DataRequest.State.RUNNING],
            )
            .order_by("-pk")
            .first()
        )
        if waiting is not None:
            return waiting
        request = DataRequest.objects.create(user=person, kind=DataRequest.Kind.ARCHIVE, requested_by=person)
        audit_append(action="data_request.asked", actor=person, target=request, data={"kind": request.kind}, ip=ip)
        _queue_archive(request)
    return request


def data_request_for(*, viewer: User, pk: Any) -> DataRequest:
    """Return the request `pk` if `viewer` may see it; anyone else's is simply not found."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        number = 0
    request = data_requests_visible_to(viewer).filter(pk=number).first()
    if request is None:
        raise NotFound("There is no such request for you. Open it from your list of requests.", code="not_found")
    return request


def data_request_download(*, viewer: User, pk: Any, ip: str | None = None) -> tuple[DataRequest, Path]:
    """Return the request and its zip for `viewer` to download, audited; refuse when it is not ready."""
    request = data_request_for(viewer=viewer, pk=pk)
    path = archive_path(request)
    if request.state != DataRequest.State.READY or path is None or not path.exists():
        raise Conflict(
            "This archive is not ready to download (still being prepared, or expired): ask for a new one.",
            code="archive_not_ready",
        )
    with transaction.atomic():
        audit_append(
            action="data_request.downloaded",
            actor=viewer,
            target=request,
            data={"bytes": request.file_size, "sha256": request.file_sha256},
            ip=ip,
        )
    return request, path
