"""Each chatbot capability signs the webhooks to its bot with a secret of its own; existing ones get one now."""

import base64
import secrets

from django.db import migrations, models


def give_each_a_secret(apps, schema_editor):
    capability = apps.get_model("partners", "ChatbotCapability")
    for row in capability.objects.filter(signing_secret=""):
        row.signing_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        row.save(update_fields=["signing_secret"])


class Migration(migrations.Migration):
    dependencies = [("partners", "0004_view_trail_permission")]

    operations = [
        migrations.AddField(
            model_name="chatbotcapability",
            name="signing_secret",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(give_each_a_secret, migrations.RunPython.noop),
    ]
