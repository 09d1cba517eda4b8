"""App configuration for delivery."""

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Owns every send; asks the consent check before each one."""

    name = "delivery"
    verbose_name = "Delivery"
    default_auto_field = "django.db.models.BigAutoField"
