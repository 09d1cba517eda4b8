"""App configuration for partners."""

from django.apps import AppConfig


class PartnersConfig(AppConfig):
    """Owns partner banks and everything they declare; knows nothing of consent or delivery."""

    name = "partners"
    verbose_name = "Partner banks"
    default_auto_field = "django.db.models.BigAutoField"
