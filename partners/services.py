"""Every write to partner banks, their people, catalog, terms, keys and webhooks; each one audited."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from guardian.shortcuts import assign_perm, remove_perm

from compliance.audit import audit_append
from portal.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from portal.models import User

from . import signals
from .models import (
    ChatbotCapability,
    DataScope,
    DataScopeVersion,
    Invitation,
    Partner,
    PartnerApiKey,
    PartnerMembership,
    TermsAcceptance,
    UsageTerms,
    WebhookEndpoint,
    WebhookEvent,
)
from .permissions import ROLE_PERMISSIONS
from .validators import validate_lei, validate_message_types, validate_outbound_url, validate_scope_content

API_KEY_LAST_USED_RESOLUTION = 60  # seconds; keeps a busy key from writing on every request


def _send_after_commit(*, subject: str, body: str, to: str) -> None:
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=True))


def _site_url(path: str) -> str:
    return f"{settings.PORTAL_SITE_URL.rstrip('/')}{path}"


# --- Banks and their lifecycle ------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "bank"
    slug, n = base, 2
    while Partner.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def partner_create(
    *, legal_name: str, slug: str | None = None, status: str = Partner.Status.APPLIED, actor: Any = None, **details: Any
) -> Partner:
    """Create a partner bank and return it."""
    with transaction.atomic():
        if slug and Partner.objects.filter(slug=slug).exists():
            raise Conflict(f"A bank with the address '{slug}' already exists. Choose another.", code="duplicate")
        partner = Partner(
            legal_name=legal_name.strip(), slug=slug or _unique_slug(legal_name), status=status, **details
        )
        partner.full_clean()
        partner.save()
        audit_append(action="partner.create", actor=actor, target=partner, data={"status": status})
    return partner


def partner_apply(
    *,
    legal_name: str,
    country: str,
    identifier_type: str,
    identifier: str,
    website: str,
    security_contact: str,
    manager_email: str,
    ip: str | None = None,
) -> tuple[Partner, Invitation]:
    """Record a bank's application and invite its first manager, whose acceptance verifies their email."""
    identifier = identifier.strip().upper()
    if identifier_type == Partner.IdentifierType.LEI:
        identifier = validate_lei(identifier)
    with transaction.atomic():
        if (
            Partner.objects.filter(legal_name__iexact=legal_name.strip())
            .exclude(status=Partner.Status.WITHDRAWN)
            .exists()
        ):
            raise Conflict(
                "A bank with this legal name has already applied. Ask its manager to invite you instead.",
                code="duplicate",
                fields={"legal_name": ["This bank has already applied."]},
            )
        partner = Partner(
            legal_name=legal_name.strip(),
            slug=_unique_slug(legal_name),
            country=country,
            identifier_type=identifier_type,
            identifier=identifier,
            website=website,
            security_contact=security_contact,
            status=Partner.Status.APPLIED,
        )
        partner.full_clean()
        partner.save()
        audit_append(
            action="partner.apply",
            actor=None,
            target=partner,
            data={"manager_email": manager_email, "country": country, "identifier": partner.identifier},
            ip=ip,
        )
        invitation, _token = invitation_create(
            partner=partner, email=manager_email, role=PartnerMembership.Role.MANAGER, actor=None, first_manager=True
        )
    return partner, invitation


def partner_transition(*, partner: Partner, to_status: str, note: str, actor: Any) -> Partner:
    """Move a bank to `to_status` (platform staff), with a note saying why; audited and signalled."""
    note = note.strip()
    if not note:
        raise ApplicationError("Write a note that says why.", code="note_required", fields={"note": ["Write a note."]})
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        old_status = partner.status
        if not partner.may_move_to(to_status):
            raise ApplicationError(
                f"A bank that is {partner.get_status_display().lower()} cannot become "
                f"'{to_status}'. Choose one of: {', '.join(Partner.TRANSITIONS.get(old_status, ())) or 'none'}.",
                code="invalid_transition",
                fields={"to_status": ["Not possible from the current status."]},
            )
        if (
            to_status == Partner.Status.SANDBOX
            and not partner.memberships.filter(role=PartnerMembership.Role.MANAGER).exists()
        ):
            raise ApplicationError(
                "The bank has no verified manager yet: its first manager must accept the invitation first.",
                code="manager_not_verified",
            )
        if to_status == Partner.Status.LIVE:
            from .selectors import partner_terms_status

            if not partner_terms_status(partner=partner).accepted_current:
                raise ApplicationError(
                    "The bank has not accepted the current usage terms; "
                    "a manager must accept them before it goes live.",
                    code="terms_not_accepted",
                )
        partner.status = to_status
        partner.status_changed_at = timezone.now()
        partner.save(update_fields=["status", "status_changed_at", "updated_at"])
        audit_append(
            action="partner.status_change",
            actor=actor,
            target=partner,
            data={"from": old_status, "to": to_status, "note": note},
        )
        transaction.on_commit(
            lambda: signals.partner_status_changed.send(
                sender=Partner, partner=partner, old_status=old_status, new_status=to_status
            )
        )
    return partner


# --- Members and invitations ---------------------------------------------------------------------


def _require_manager(partner: Partner, user: Any, what: str) -> None:
    if (
        not isinstance(user, User)
        or not PartnerMembership.objects.filter(
            partner=partner, user=user, role=PartnerMembership.Role.MANAGER
        ).exists()
    ):
        raise PermissionDenied(f"Only the bank's managers can {what}.")


def partner_member_add(*, partner: Partner, user: User, role: str, actor: Any = None) -> PartnerMembership:
    """Make `user` a member of `partner` with `role` and grant that role's permissions."""
    if role not in PartnerMembership.Role.values:
        raise ApplicationError(
            "Choose a role: manager, developer or compliance contact.",
            code="invalid_role",
            fields={"role": ["Unknown role."]},
        )
    with transaction.atomic():
        membership, created = PartnerMembership.objects.select_for_update().get_or_create(
            partner=partner, user=user, defaults={"role": role}
        )
        if not created and membership.role == role:
            return membership
        if not created:
            for perm in ROLE_PERMISSIONS[membership.role]:
                remove_perm(perm, user, partner)
            membership.role = role
            membership.save(update_fields=["role"])
        for perm in ROLE_PERMISSIONS[role]:
            assign_perm(perm, user, partner)
        audit_append(
            action="partner.member_add" if created else "partner.member_role_change",
            actor=actor,
            target=partner,
            data={"user": user.email, "role": role},
        )
    return membership


def partner_member_remove(*, membership: PartnerMembership, actor: Any) -> None:
    """Remove a member and their permissions; a bank always keeps at least one manager."""
    with transaction.atomic():
        membership = (
            PartnerMembership.objects.select_for_update(of=("self",))
            .select_related("partner", "user")
            .get(pk=membership.pk)
        )
        partner = membership.partner
        _require_manager(partner, actor, "remove members")
        if (
            membership.role == PartnerMembership.Role.MANAGER
            and partner.memberships.filter(role=PartnerMembership.Role.MANAGER).count() == 1
        ):
            raise ApplicationError(
                "A bank needs at least one manager. Make someone else a manager first.", code="last_manager"
            )
        for perm in ROLE_PERMISSIONS[membership.role]:
            remove_perm(perm, membership.user, partner)
        membership.delete()
        audit_append(action="partner.member_remove", actor=actor, target=partner, data={"user": membership.user.email})


def invitation_create(
    *, partner: Partner, email: str, role: str, actor: Any, first_manager: bool = False
) -> tuple[Invitation, str]:
    """Invite `email` to join `partner` as `role`; return the invitation and its one-time token."""
    email = email.strip().lower()
    if role not in PartnerMembership.Role.values:
        raise ApplicationError(
            "Choose a role: manager, developer or compliance contact.",
            code="invalid_role",
            fields={"role": ["Unknown role."]},
        )
    with transaction.atomic():
        if not first_manager:
            _require_manager(partner, actor, "invite people")
        if partner.memberships.filter(user__email__iexact=email).exists():
            raise Conflict(
                f"{email} is already a member of {partner}.", code="duplicate", fields={"email": ["Already a member."]}
            )
        # A new invitation replaces any pending one to the same address.
        now = timezone.now()
        Invitation.objects.pending().filter(partner=partner, email__iexact=email).update(revoked_at=now)
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            partner=partner,
            email=email,
            role=role,
            token_digest=Invitation.digest_of(token),
            invited_by=actor if isinstance(actor, User) else None,
            expires_at=now + Invitation.VALID_FOR,
        )
        invitation.full_clean()
        invitation.save()
        audit_append(action="partner.invite", actor=actor, target=partner, data={"email": email, "role": role})
        link = _site_url(reverse("partners:invitation", kwargs={"token": token}))
        intro = (
            f"You applied for {partner} to join the bank partnership portal."
            if first_manager
            else f"You are invited to join {partner} on the bank partnership portal as {invitation.get_role_display()}."
        )
        _send_after_commit(
            subject=f"Join {partner} on the bank partnership portal",
            body=f"{intro}\n\nOpen this link to confirm your email address and join (it works once, for 7 days):\n"
            f"{link}\n\nIf you did not expect this, ignore this email.",
            to=email,
        )
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    """Return the invitation a token stands for, or raise a clear error."""
    invitation = Invitation.objects.select_related("partner").filter(token_digest=Invitation.digest_of(token)).first()
    if invitation is None:
        raise NotFound(
            "This invitation link is not valid. Ask the bank's manager for a new one.", code="invitation_invalid"
        )
    return invitation


def invitation_check(*, token: str, user: User | None = None) -> Invitation:
    """Return the invitation if it can still be accepted (by `user`, when given), or raise why not."""
    invitation = invitation_for_token(token)
    _check_acceptable(invitation, user)
    return invitation


def _check_acceptable(invitation: Invitation, user: User | None) -> None:
    if invitation.accepted_at is not None:
        raise ApplicationError("This invitation was already used.", code="invitation_used", status=410)
    if invitation.revoked_at is not None:
        raise ApplicationError(
            "This invitation was withdrawn or replaced by a newer one. Use the newest email.",
            code="invitation_revoked",
            status=410,
        )
    if invitation.is_expired:
        raise ApplicationError(
            "This invitation has expired. Ask the bank's manager to send a new one.",
            code="invitation_expired",
            status=410,
        )
    if user is not None and user.email.lower() != invitation.email.lower():
        raise PermissionDenied(
            f"This invitation is for {invitation.email}. Sign in with that address to accept it.",
            code="invitation_email_mismatch",
        )


def invitation_accept(*, token: str, user: User, ip: str | None = None) -> PartnerMembership:
    """Accept an invitation as `user`, whose email must be the one invited; single use."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation_for_token(token).pk)
        _check_acceptable(invitation, user)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_append(
            action="partner.invitation_accept",
            actor=user,
            target=invitation.partner,
            data={"email": invitation.email, "role": invitation.role},
            ip=ip,
        )
        return partner_member_add(partner=invitation.partner, user=user, role=invitation.role, actor=user)


def invitation_revoke(*, invitation: Invitation, actor: Any) -> Invitation:
    """Withdraw a pending invitation."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        _require_manager(invitation.partner, actor, "withdraw invitations")
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_append(
                action="partner.invitation_revoke",
                actor=actor,
                target=invitation.partner,
                data={"email": invitation.email},
            )
    return invitation


# --- Scope catalog -------------------------------------------------------------------------------

SCOPE_CONTENT_FIELDS = (
    "name", "description", "category", "fields", "purposes", "sensitivity", "retention_days", "max_duration_days",
)  # fmt: skip


def scope_create(*, partner: Partner, code: str, actor: Any, **content: Any) -> DataScope:
    """Declare a new scope with its first (draft) version."""
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
    unknown = set(changes) - set(SCOPE_CONTENT_FIELDS)
    if unknown:
        raise ApplicationError(
            f"These cannot be changed: {', '.join(sorted(unknown))}.", fields={k: ["Read-only."] for k in unknown}
        )
    with transaction.atomic():
        scope = DataScope.objects.select_for_update().get(pk=scope.pk)
        if scope.retired_at is not None:
            raise ApplicationError("This scope is retired; declare a new one instead.", code="scope_retired")
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
    transaction.on_commit(
        lambda: signals.scope_published.send(sender=DataScope, scope=scope, version=version, previous=previous)
    )


def scope_publish(*, scope: DataScope, actor: Any) -> DataScopeVersion:
    """Publish the scope's draft; a high-sensitivity draft waits for compliance approval instead."""
    with transaction.atomic():
        scope = DataScope.objects.select_for_update(of=("self",)).select_related("published_version").get(pk=scope.pk)
        if scope.retired_at is not None:
            raise ApplicationError("This scope is retired; declare a new one instead.", code="scope_retired")
        draft = scope.versions.filter(status=DataScopeVersion.Status.DRAFT).first()
        if draft is None:
            pending = scope.versions.filter(status=DataScopeVersion.Status.PENDING_REVIEW).first()
            if pending is not None:
                return pending
            raise ApplicationError("There is no draft to publish: edit the scope first.", code="nothing_to_publish")
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
    with transaction.atomic():
        scope = DataScope.objects.select_for_update().get(pk=scope.pk)
        if scope.retired_at is None:
            scope.retired_at = timezone.now()
            scope.save(update_fields=["retired_at"])
            scope.versions.exclude(status=DataScopeVersion.Status.SUPERSEDED).update(
                status=DataScopeVersion.Status.RETIRED
            )
            audit_append(action="scope.retire", actor=actor, target=scope)
            transaction.on_commit(lambda: signals.scope_retired.send(sender=DataScope, scope=scope))
    return scope


# --- Chatbot capabilities --------------------------------------------------------------------------


def _capability_scopes(partner: Partner, codes: Any) -> list[DataScope]:
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise ApplicationError("List the scope codes this capability needs.", fields={"scopes": ["A list of codes."]})
    scopes = {s.code: s for s in partner.scopes.visible_to_users().filter(code__in=codes)}
    missing = [code for code in codes if code not in scopes]
    if missing:
        raise ApplicationError(
            f"'{missing[0]}' is not a published scope of your bank. "
            "A capability can use only your own published scopes.",
            code="scope_not_available",
            fields={"scopes": [f"'{code}' is not one of your published scopes." for code in missing]},
        )
    return [scopes[code] for code in dict.fromkeys(codes)]


RESERVED_CAPABILITY_CODES = frozenset({"new"})  # /capabilities/new/ is the page that creates one
CAPABILITY_FIELDS = ("name", "description", "sample_utterances", "scopes", "message_types", "webhook_url", "status")


def _apply_capability(capability: ChatbotCapability, values: dict[str, Any]) -> list[DataScope] | None:
    scopes = None
    if "scopes" in values:
        scopes = _capability_scopes(capability.partner, values.pop("scopes"))
    if "message_types" in values:
        values["message_types"] = validate_message_types(values["message_types"])
    if "webhook_url" in values:
        url = values["webhook_url"] or ""
        values["webhook_url"] = validate_outbound_url(url, field="webhook_url") if url else ""
    utterances = values.get("sample_utterances")
    if utterances is not None and (
        not isinstance(utterances, list) or not all(isinstance(u, str) and u.strip() for u in utterances)
    ):
        raise ApplicationError(
            "Sample utterances are a list of sentences.", fields={"sample_utterances": ["A list of sentences."]}
        )
    for key, value in values.items():
        setattr(capability, key, value)
    return scopes


def capability_create(*, partner: Partner, code: str, actor: Any, **values: Any) -> ChatbotCapability:
    """Declare a chatbot capability of `partner`."""
    values = {key: values[key] for key in CAPABILITY_FIELDS if key in values}
    values.setdefault("message_types", [])
    values.setdefault("scopes", [])
    duplicate = Conflict(
        f"Your bank already has a capability '{code}'. Edit it instead.", code="duplicate", fields={"code": ["Taken."]}
    )
    if code in RESERVED_CAPABILITY_CODES:
        raise ApplicationError(
            f"'{code}' is reserved by the portal's pages. Choose another code.",
            code="reserved_code",
            fields={"code": ["This code is reserved."]},
        )
    if partner.capabilities.filter(code=code).exists():
        raise duplicate
    try:
        with transaction.atomic():
            capability = ChatbotCapability(partner=partner, code=code)
            scopes = _apply_capability(capability, values)
            capability.full_clean(validate_unique=False)
            capability.save()
            capability.scopes.set(scopes or [])
            audit_append(
                action="capability.create",
                actor=actor,
                target=capability,
                data={
                    "code": code,
                    "scopes": [s.code for s in scopes or []],
                    "message_types": capability.message_types,
                },
            )
    except IntegrityError as exc:  # a concurrent create won the race
        raise duplicate from exc
    return capability


def capability_update(*, capability: ChatbotCapability, actor: Any, **values: Any) -> ChatbotCapability:
    """Change a chatbot capability."""
    unknown = set(values) - set(CAPABILITY_FIELDS)
    if unknown:
        raise ApplicationError(
            f"These cannot be changed: {', '.join(sorted(unknown))}.", fields={k: ["Read-only."] for k in unknown}
        )
    with transaction.atomic():
        capability = (
            ChatbotCapability.objects.select_for_update(of=("self",)).select_related("partner").get(pk=capability.pk)
        )
        changes = dict(values)
        scopes = _apply_capability(capability, dict(values))
        capability.full_clean(validate_unique=False)
        capability.save()
        if scopes is not None:
            capability.scopes.set(scopes)
        audit_append(action="capability.update", actor=actor, target=capability, data=changes)
    return capability


# --- Usage terms -----------------------------------------------------------------------------------


def terms_publish(
    *, title: str, body: str, actor: Any, requires_reacceptance: bool = True, grace_days: int = 30
) -> UsageTerms:
    """Publish a new version of the usage terms (platform staff); published terms never change."""
    if not title.strip() or not body.strip():
        raise ApplicationError(
            "Give the terms a title and a text.",
            fields={"title": ["Required."]} if not title.strip() else {"body": ["Required."]},
        )
    with transaction.atomic():
        # Lock the newest row so that two publishers cannot both take the next number.
        latest = UsageTerms.objects.select_for_update().order_by("-version").first()
        terms = UsageTerms(
            version=(latest.version if latest else 0) + 1,
            title=title.strip(),
            body=body,
            body_sha256=UsageTerms.digest_of(body),
            requires_reacceptance=requires_reacceptance,
            grace_days=grace_days,
            published_by=actor if isinstance(actor, User) else None,
        )
        terms.full_clean()
        terms.save()
        audit_append(
            action="terms.publish",
            actor=actor,
            target=terms,
            data={
                "version": terms.version,
                "sha256": terms.body_sha256,
                "requires_reacceptance": requires_reacceptance,
            },
        )
        transaction.on_commit(lambda: signals.terms_published.send(sender=UsageTerms, terms=terms))
    return terms


def terms_accept(
    *, partner: Partner, terms: UsageTerms, user: User, ip: str | None = None, user_agent: str = ""
) -> TermsAcceptance:
    """Record that a manager accepted `terms` (the current version) for `partner`."""
    with transaction.atomic():
        _require_manager(partner, user, "accept the usage terms")
        current = UsageTerms.objects.current()
        if current is None or current.pk != terms.pk:
            raise Conflict(
                "These are not the current terms any more. Reload the page and read the current version.",
                code="terms_outdated",
            )
        existing = TermsAcceptance.objects.filter(partner=partner, terms=terms).first()
        if existing is not None:
            return existing
        acceptance = TermsAcceptance(
            partner=partner,
            terms=terms,
            accepted_by=user,
            ip=ip,
            user_agent=user_agent[:500],
            text_sha256=terms.body_sha256,
        )
        acceptance.save()
        audit_append(
            action="terms.accept",
            actor=user,
            target=partner,
            data={"version": terms.version, "sha256": terms.body_sha256, "user_agent": user_agent[:200]},
            ip=ip,
        )
    return acceptance


# --- API keys ----------------------------------------------------------------------------------------


def partner_api_key_create(
    *,
    partner: Partner,
    name: str,
    environment: str,
    actor: Any = None,
    raw_key: str | None = None,
) -> tuple[PartnerApiKey, str]:
    """Create an API key for `partner` and return it with the raw key, which is never stored.

    `raw_key` lets `seed_demo` keep the demo bank's key stable across runs; nothing else passes it.
    """
    if environment not in PartnerApiKey.Environment.values:
        raise ApplicationError(
            "Choose sandbox or live.", code="invalid", fields={"environment": ["Unknown environment."]}
        )
    if not partner.may_call_api:
        code = "partner_suspended" if partner.status == Partner.Status.SUSPENDED else "partner_not_approved"
        raise ApplicationError(
            f"A bank that is {partner.get_status_display().lower()} cannot have API keys.", code=code, status=403
        )
    if environment == PartnerApiKey.Environment.LIVE and partner.status != Partner.Status.LIVE:
        raise ApplicationError(
            "Live keys are for live banks. Use a sandbox key until your bank goes live.",
            code="partner_not_live",
            fields={"environment": ["Your bank is not live yet."]},
        )
    if not name.strip():
        raise ApplicationError("Name the key after where it is used.", fields={"name": ["Give the key a name."]})
    if raw_key is None:
        lookup = secrets.token_hex(6)
        raw_key = f"{PartnerApiKey.PREFIX}_{environment}_{lookup}_{secrets.token_urlsafe(32)}"
    else:
        lookup = parse_api_key(raw_key)[1]
    with transaction.atomic():
        key = PartnerApiKey(
            partner=partner,
            name=name.strip(),
            environment=environment,
            lookup=lookup,
            digest=PartnerApiKey.digest_of(raw_key),
            created_by=actor if isinstance(actor, User) else None,
        )
        key.full_clean()
        key.save()
        audit_append(
            action="partner.api_key_create",
            actor=actor,
            target=partner,
            data={"key": key.masked, "name": name, "environment": environment},
        )
    return key, raw_key


def partner_api_key_revoke(*, key: PartnerApiKey, actor: Any = None) -> PartnerApiKey:
    """Revoke an API key at once; requests with it fail from this commit on."""
    with transaction.atomic():
        key = PartnerApiKey.objects.select_for_update(of=("self",)).select_related("partner").get(pk=key.pk)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_append(action="partner.api_key_revoke", actor=actor, target=key.partner, data={"key": key.masked})
    return key


def partner_api_key_rotate(*, key: PartnerApiKey, actor: Any = None) -> tuple[PartnerApiKey, str]:
    """Replace a key: a new one now, the old one honoured for 24 more hours so servers can switch."""
    with transaction.atomic():
        old = PartnerApiKey.objects.select_for_update(of=("self",)).select_related("partner").get(pk=key.pk)
        if not old.is_active:
            raise ApplicationError("This key is revoked or expired; create a new one instead.", code="key_inactive")
        new, raw = partner_api_key_create(partner=old.partner, name=old.name, environment=old.environment, actor=actor)
        old.expires_at = timezone.now() + PartnerApiKey.ROTATION_OVERLAP
        old.save(update_fields=["expires_at"])
        audit_append(
            action="partner.api_key_rotate",
            actor=actor,
            target=old.partner,
            data={"old": old.masked, "new": new.masked, "old_expires_at": old.expires_at},
        )
    return new, raw


def partner_api_key_touch(*, key: PartnerApiKey) -> None:
    """Record that `key` was just used, at most once a minute (operational, not audited)."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > API_KEY_LAST_USED_RESOLUTION:
        PartnerApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


def parse_api_key(raw_key: str) -> tuple[str, str]:
    """Return the environment and lookup part of a raw key, or raise ApplicationError."""
    parts = raw_key.split("_", 3)
    if len(parts) != 4 or parts[0] != PartnerApiKey.PREFIX or parts[1] not in PartnerApiKey.Environment.values:
        raise ApplicationError("This is not a partner API key.", code="invalid_api_key", status=401)
    return parts[1], parts[2]


# --- Webhook endpoints -------------------------------------------------------------------------------


def _webhook_secret() -> str:
    # Standard Webhooks: "whsec_" and the base64 of the key bytes.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _validate_event_types(event_types: Any) -> list[str]:
    if not isinstance(event_types, list) or not event_types:
        raise ApplicationError(
            "Choose the events this endpoint receives.", fields={"event_types": ["Choose at least one event."]}
        )
    unknown = [e for e in event_types if e not in WebhookEvent.values]
    if unknown:
        raise ApplicationError(
            f"Unknown event {unknown[0]!r}. Choose from: {', '.join(WebhookEvent.values)}.",
            fields={"event_types": [f"Unknown event {unknown[0]!r}."]},
        )
    return list(dict.fromkeys(event_types))


def webhook_endpoint_create(
    *, partner: Partner, url: str, event_types: Any, actor: Any, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register a webhook endpoint; return it with its signing secret (shown to the bank once)."""
    endpoint = WebhookEndpoint(
        partner=partner,
        url=validate_outbound_url(url),
        event_types=_validate_event_types(event_types),
        description=description.strip()[:200],
        secret=_webhook_secret(),
    )
    with transaction.atomic():
        endpoint.full_clean()
        endpoint.save()
        audit_append(
            action="webhook.create",
            actor=actor,
            target=endpoint,
            data={"url": url, "event_types": endpoint.event_types},
        )
    return endpoint, endpoint.secret


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor: Any, **values: Any) -> WebhookEndpoint:
    """Change an endpoint's URL, events, description, or switch it on or off."""
    allowed = {"url", "event_types", "description", "is_active"}
    unknown = set(values) - allowed
    if unknown:
        raise ApplicationError(
            f"These cannot be changed: {', '.join(sorted(unknown))}.", fields={k: ["Read-only."] for k in unknown}
        )
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if "url" in values:
            endpoint.url = validate_outbound_url(values["url"])
        if "event_types" in values:
            endpoint.event_types = _validate_event_types(values["event_types"])
        if "description" in values:
            endpoint.description = str(values["description"]).strip()[:200]
        if "is_active" in values:
            endpoint.is_active = bool(values["is_active"])
            endpoint.disabled_at = None if endpoint.is_active else timezone.now()
            endpoint.disabled_reason = "" if endpoint.is_active else "Switched off by the bank."
        endpoint.full_clean()
        endpoint.save()
        audit_append(action="webhook.update", actor=actor, target=endpoint, data=values)
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Any) -> None:
    """Remove an endpoint; nothing more is sent to it."""
    with transaction.atomic():
        audit_append(action="webhook.delete", actor=actor, target=endpoint, data={"url": endpoint.url})
        endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Any) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new secret; the old one still signs (second signature) for 24 hours."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + WebhookEndpoint.ROTATION_OVERLAP
        endpoint.secret = _webhook_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        audit_append(
            action="webhook.rotate_secret",
            actor=actor,
            target=endpoint,
            data={"previous_valid_until": endpoint.previous_secret_expires_at},
        )
    return endpoint, endpoint.secret
