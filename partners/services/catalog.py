"""The bank's scope catalog: scopes and their versions, publishing, compliance review, retiring."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.audit import audit_append
from portal.errors import ApplicationError, Conflict, PermissionDenied
from portal.models import User

from .. import signals
from ..models import DataScope, DataScopeVersion, Partner
from ..policy import BankAction, require_member_may
from ..validators import validate_changeable, validate_scope_content

SCOPE_CONTENT_FIELDS = (
    "name", "description", "category", "fields", "purposes", "sensitivity", "retention_days", "max_duration_days",
)  # fmt: skip


def scope_create(*, partner: Partner, code: str, actor: Any, **content: Any) -> DataScope:
    """Declare a new scope with its first (draft) version."""
    require_member_may(actor, partner, BankAction.MANAGE_CATALOG)
    content = validate_scope_content({key: content.get(key) for key in SCOPE_CONTENT_FIELDS})
    duplicate = Conflict(
        f"Your bank already has a scope '{code}'. Edit it instead.",
        code="duplicate",
        fields={"code": ["This code is taken."]},
    )
    if partner.scopes.filter(code=code).exists():
        raise duplicate
    try:
        with transaction.atomic():
            scope = DataScope(partner=partner, code=code)
            scope.full_clean(validate_unique=False)
            scope.save()
            version = DataScopeVersion(scope=scope, number=1, **content)
            version.full_clean()
            version.save()
            audit_append(action="scope.create", actor=actor, target=scope, data={"version": 1, **content})
    except IntegrityError as exc:  # a concurrent create won the race
        raise duplicate from exc
    return scope


def _open_draft(scope: DataScope) -> DataScopeVersion:
    """Return the scope's editable draft, starting one from the latest version when there is none."""
    draft = scope.versions.filter(
        status__in=[DataScopeVersion.Status.DRAFT, DataScopeVersion.Status.PENDING_REVIEW]
    ).first()
    if draft is not None:
        return draft
    latest = scope.versions.order_by("-number").first()
    assert latest is not None
    draft = DataScopeVersion(scope=scope, number=latest.number + 1, **latest.content())
    draft.save()
    return draft


def scope_update(*, scope: DataScope, actor: Any, **changes: Any) -> DataScopeVersion:
    """Change the scope's draft (made from the published version if needed) and return it."""
    require_member_may(actor, scope.partner, BankAction.MANAGE_CATALOG)
    validate_changeable(changes, changeable=SCOPE_CONTENT_FIELDS)
    with transaction.atomic():
        scope = DataScope.objects.select_for_update().get(pk=scope.pk)
        if scope.retired_at is not None:
            raise Conflict("This scope is retired; declare a new one instead.", code="scope_retired")
        draft = _open_draft(scope)
        content = validate_scope_content({**draft.content(), **changes})
        for key, value in content.items():
            setattr(draft, key, value)
        draft.status = DataScopeVersion.Status.DRAFT  # an edit sends a pending review back to draft
        draft.full_clean()
        draft.save()
        audit_append(action="scope.update", actor=actor, target=scope, data={"version": draft.number, **changes})
    return draft


def _narrowing(previous: DataScopeVersion | None, version: DataScopeVersion) -> dict[str, Any]:
    if previous is None:
        return {}
    narrowed: dict[str, Any] = {}
    fields_removed = sorted(previous.field_names - version.field_names)
    purposes_removed = sorted(set(previous.purposes) - set(version.purposes))
    if fields_removed:
        narrowed["fields_removed"] = fields_removed
    if purposes_removed:
        narrowed["purposes_removed"] = purposes_removed
    if version.max_duration_days < previous.max_duration_days:
        narrowed["max_duration_days"] = [previous.max_duration_days, version.max_duration_days]
    return narrowed


def _publish_version(
    scope: DataScope, version: DataScopeVersion, actor: Any, *, approved: bool = False, note: str = ""
) -> None:
    previous = scope.published_version
    if previous is not None:
        previous.status = DataScopeVersion.Status.SUPERSEDED
        previous.save(update_fields=["status"])
    version.status = DataScopeVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.narrowed = _narrowing(previous, version)
    if approved:
        version.approved_by = actor if isinstance(actor, User) else None
        version.approved_at = version.published_at
    version.save()
    scope.published_version = version
    scope.save(update_fields=["published_version"])
    audit_append(
        action="scope.approve_publish" if approved else "scope.publish",
        actor=actor,
        target=scope,
        data={
            "version": version.number,
            "narrowed": version.narrowed,
            **({"note": note.strip()} if note.strip() else {}),
        },
    )
    # Inside the transaction: the grants the new version no longer covers change with it.
    signals.scope_published.send(sender=DataScope, scope=scope, version=version, previous=previous)


def scope_publish(*, scope: DataScope, actor: Any) -> DataScopeVersion:
    """Publish the scope's draft; a high-sensitivity draft waits for compliance approval instead."""
    require_member_may(actor, scope.partner, BankAction.MANAGE_CATALOG)
    with transaction.atomic():
        scope = DataScope.objects.select_for_update(of=("self",)).select_related("published_version").get(pk=scope.pk)
        if scope.retired_at is not None:
            raise Conflict("This scope is retired; declare a new one instead.", code="scope_retired")
        draft = scope.versions.filter(status=DataScopeVersion.Status.DRAFT).first()
        if draft is None:
            pending = scope.versions.filter(status=DataScopeVersion.Status.PENDING_REVIEW).first()
            if pending is not None:
                return pending
            raise Conflict("There is no draft to publish: edit the scope first.", code="nothing_to_publish")
        if draft.sensitivity == DataScopeVersion.Sensitivity.HIGH:
            draft.status = DataScopeVersion.Status.PENDING_REVIEW
            draft.save(update_fields=["status"])
            audit_append(action="scope.submit_for_review", actor=actor, target=scope, data={"version": draft.number})
            return draft
        _publish_version(scope, draft, actor)
    return draft


def scope_review(*, version: DataScopeVersion, approve: bool, note: str, actor: Any) -> DataScopeVersion:
    """Approve (publish) or send back a high-sensitivity version; compliance staff only."""
    if not isinstance(actor, User) or not actor.has_role(User.Role.COMPLIANCE_STAFF):
        raise PermissionDenied("Only compliance staff review high-sensitivity scopes.")
    with transaction.atomic():
        version = DataScopeVersion.objects.select_for_update(of=("self",)).select_related("scope").get(pk=version.pk)
        scope = (
            DataScope.objects.select_for_update(of=("self",))
            .select_related("published_version")
            .get(pk=version.scope_id)
        )
        if version.status != DataScopeVersion.Status.PENDING_REVIEW:
            raise ApplicationError("This version is not waiting for review.", code="not_pending_review")
        if approve:
            _publish_version(scope, version, actor, approved=True, note=note)
        else:
            if not note.strip():
                raise ApplicationError(
                    "Say what the bank must change.", code="note_required", fields={"note": ["Write a note."]}
                )
            version.status = DataScopeVersion.Status.DRAFT
            version.save(update_fields=["status"])
            audit_append(
                action="scope.review_reject", actor=actor, target=scope, data={"version": version.number, "note": note}
            )
    return version


def scope_retire(*, scope: DataScope, actor: Any) -> DataScope:
    """Retire a scope: nobody can grant it any more (existing grants are for consent to settle)."""
    require_member_may(actor, scope.partner, BankAction.MANAGE_CATALOG)
    with transaction.atomic():
        scope = DataScope.objects.select_for_update().get(pk=scope.pk)
        if scope.retired_at is None:
            scope.retired_at = timezone.now()
            scope.save(update_fields=["retired_at"])
            scope.versions.exclude(status=DataScopeVersion.Status.SUPERSEDED).update(
                status=DataScopeVersion.Status.RETIRED
            )
            audit_append(action="scope.retire", actor=actor, target=scope)
            signals.scope_retired.send(sender=DataScope, scope=scope)  # its grants end in this transaction
    return scope
