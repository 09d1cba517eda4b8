"""The `view_trail` permission of compliance contacts and managers: read the bank's slice of the audit trail.

Contacts and managers who are members already get it on their bank here, as `partners.services.members` gives it
to new ones. Permissions are otherwise made after migrating, so this one is made here if missing.
"""

from typing import Any

from django.db import migrations

CODENAME = "view_trail"
NAME = "Read the bank's slice of the audit trail"


def grant_to_contacts(apps: Any, schema_editor: Any) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Membership = apps.get_model("partners", "PartnerMembership")
    ObjectPermission = apps.get_model("partners", "PartnerUserObjectPermission")
    content_type, _ = ContentType.objects.get_or_create(app_label="partners", model="partner")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": NAME}
    )
    for partner_id, user_id in Membership.objects.filter(role__in=["compliance", "manager"]).values_list(
        "partner_id", "user_id"
    ):
        ObjectPermission.objects.get_or_create(permission=permission, user_id=user_id, content_object_id=partner_id)


def take_from_contacts(apps: Any, schema_editor: Any) -> None:
    ObjectPermission = apps.get_model("partners", "PartnerUserObjectPermission")
    ObjectPermission.objects.filter(
        permission__codename=CODENAME, permission__content_type__app_label="partners"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0003_refuse_bidi_controls_in_names"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="partner",
            options={
                "ordering": ["legal_name"],
                "permissions": [
                    ("manage_partner", "Manage the bank's catalog, terms and keys"),
                    ("manage_members", "Invite and remove the bank's members"),
                    ("view_trail", "Read the bank's slice of the audit trail"),
                ],
            },
        ),
        migrations.RunPython(grant_to_contacts, take_from_contacts),
    ]
