"""App configuration for compliance."""

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Owns the audit trail; writes no domain state but its own."""

    name = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"
