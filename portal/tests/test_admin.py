"""The admin reads and never writes: every change goes through a service action, which audits it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from guardian.admin import GuardedModelAdminMixin

from compliance.models import AuditEntry
from partners.models import Partner, PartnerApiKey
from partners.tests.factories import PartnerFactory, api_key_for, member_of
from portal.admin_site import PortalAdminSite
from portal.models import PLATFORM_STAFF_GROUP, User
from portal.tests.factories import PASSWORD, PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db

# Celery beat's schedules are configuration, not audited state (see compliance/testing/audit_coverage.py).
WRITABLE_APPS = {"django_celery_beat"}


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser(email="root@example.test", password=PASSWORD)


@pytest.fixture
def staff_client(client: Client) -> Client:
    sign_in_verified(client, PlatformStaffFactory(full_name="Sam Staff"))
    return client


def test_the_admin_site_is_the_portals() -> None:
    assert isinstance(admin.site._wrapped, PortalAdminSite)  # type: ignore[attr-defined]


def test_no_admin_lets_even_a_superuser_add_change_or_delete(superuser: User) -> None:
    request = RequestFactory().get("/admin/")
    request.user = superuser
    checked = []
    for model, model_admin in admin.site._registry.items():
        assert not isinstance(model_admin, GuardedModelAdminMixin), f"{model} edits object permissions"
        if model._meta.app_label in WRITABLE_APPS:
            continue
        assert not model_admin.has_add_permission(request), f"{model_admin} lets a superuser add {model}"
        for page in (model_admin, *(inline(model, admin.site) for inline in model_admin.inlines)):
            if page is not model_admin:
                assert not page.has_add_permission(request, None), f"{page} lets a superuser add to {model}"
            assert not page.has_change_permission(request, None), f"{page} lets a superuser change {model}"
            assert not page.has_delete_permission(request, None), f"{page} lets a superuser delete {model}"
        assert model_admin.has_view_permission(request)
        assert "delete_selected" not in model_admin.get_actions(request)
        checked.append(model._meta.label)
    assert {"portal.User", "auth.Group", "partners.Partner", "compliance.AuditEntry"} <= set(checked)


def test_a_superuser_cannot_post_a_change_an_addition_or_a_deletion(client: Client, superuser: User) -> None:
    person = UserFactory()
    sign_in_verified(client, superuser)
    assert client.get(f"/admin/portal/user/{person.pk}/change/").status_code == 200  # reading is fine
    response = client.post(f"/admin/portal/user/{person.pk}/change/", {"email": "x@example.test", "is_staff": "on"})
    assert response.status_code == 403
    assert client.post(f"/admin/portal/user/{person.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/portal/user/{person.pk}/password/", {}).status_code == 403
    assert client.post("/admin/portal/user/add/", {"email": "y@example.test"}).status_code == 403
    bank = PartnerFactory()
    assert client.post(f"/admin/partners/partner/{bank.pk}/change/", {"legal_name": "Renamed"}).status_code == 403
    group = Group.objects.get(name=PLATFORM_STAFF_GROUP)
    assert client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Everyone"}).status_code == 403
    person.refresh_from_db()
    bank.refresh_from_db()
    assert (person.email, person.is_staff, bank.legal_name) != ("x@example.test", True, "Renamed")
    assert User.objects.filter(pk=person.pk).exists()


def _run_action(client: Client, url: str, action: str, objects: list[Any], **extra: str) -> Any:
    return client.post(
        url, {"action": action, admin.helpers.ACTION_CHECKBOX_NAME: [o.pk for o in objects], **extra}, follow=True
    )


def test_staff_deactivate_people_through_the_service_and_their_sessions_stop(staff_client: Client) -> None:
    person = UserFactory()
    their_client = Client()
    sign_in_verified(their_client, person)
    assert their_client.get("/home/").status_code == 302
    assert their_client.get("/me/").status_code == 200

    response = _run_action(staff_client, "/admin/portal/user/", "deactivate", [person])

    assert "1 person(s) deactivated." in response.content.decode()
    person.refresh_from_db()
    assert not person.is_active
    entry = AuditEntry.objects.get(action="user.deactivate")
    assert entry.target_id == str(person.pk)
    assert entry.ip == "127.0.0.1"
    assert their_client.get("/me/").url.startswith("/accounts/login/")
    assert User.objects.filter(pk=person.pk).exists()


def test_staff_cannot_deactivate_themselves(client: Client) -> None:
    staff = PlatformStaffFactory()
    sign_in_verified(client, staff)
    response = _run_action(client, "/admin/portal/user/", "deactivate", [staff])
    assert "You cannot deactivate your own account" in response.content.decode()
    staff.refresh_from_db()
    assert staff.is_active
    assert not AuditEntry.objects.filter(action="user.deactivate").exists()


def test_only_superusers_hand_out_staff_roles(staff_client: Client, client: Client, superuser: User) -> None:
    person = UserFactory()
    changelist = staff_client.get("/admin/portal/user/").content.decode()
    assert "grant_platform_staff" not in changelist
    assert "deactivate" in changelist
    _run_action(staff_client, "/admin/portal/user/", "grant_platform_staff", [person])
    assert User.objects.get(pk=person.pk).primary_role == User.Role.END_USER

    root = Client()
    sign_in_verified(root, superuser)
    response = _run_action(root, "/admin/portal/user/", "grant_platform_staff", [person])
    assert "1 person(s) are platform staff now." in response.content.decode()
    assert User.objects.get(pk=person.pk).primary_role == User.Role.PLATFORM_STAFF
    assert AuditEntry.objects.filter(action="user.role_grant", target_id=str(person.pk)).exists()


def test_staff_move_banks_on_with_a_note_through_the_service(staff_client: Client) -> None:
    bank, withdrawn = PartnerFactory(), PartnerFactory(status=Partner.Status.WITHDRAWN)
    member_of(bank)

    form = _run_action(staff_client, "/admin/partners/partner/", "move_to_status", [bank, withdrawn])
    html = form.content.decode()
    assert "Move banks to another status" in html
    assert bank.legal_name in html
    assert Partner.objects.get(pk=bank.pk).status == Partner.Status.SANDBOX

    response = _run_action(
        staff_client,
        "/admin/partners/partner/",
        "move_to_status",
        [bank, withdrawn],
        apply="yes",
        to_status=Partner.Status.SUSPENDED,
        note="Fraud reports under investigation",
    )

    html = response.content.decode()
    assert "1 bank(s) are now suspended." in html
    assert f"{withdrawn}: A bank that is withdrawn cannot become" in html
    assert Partner.objects.get(pk=bank.pk).status == Partner.Status.SUSPENDED
    assert Partner.objects.get(pk=withdrawn.pk).status == Partner.Status.WITHDRAWN
    entry = AuditEntry.objects.get(action="partner.status_change")
    assert entry.data["note"] == "Fraud reports under investigation"


def test_staff_revoke_an_api_key_through_the_service(staff_client: Client) -> None:
    bank = PartnerFactory()
    api_key_for(bank)
    key = PartnerApiKey.objects.get(partner=bank)
    page = staff_client.get(f"/admin/partners/partnerapikey/{key.pk}/change/").content.decode()
    assert key.digest not in page

    _run_action(staff_client, "/admin/partners/partnerapikey/", "revoke", [key])

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEntry.objects.filter(action="partner.api_key_revoke", target_id=str(bank.pk)).exists()
