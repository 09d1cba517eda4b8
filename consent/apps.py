"""App configuration for consent."""

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    """Owns what people granted to which bank; signals revocations, sends nothing itself."""

    name = "consent"
    verbose_name = "Consent"
    default_auto_field = "django.db.models.BigAutoField"
