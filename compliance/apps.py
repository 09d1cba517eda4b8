"""App configuration for compliance."""

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Owns the audit trail; writes no domain state but its own."""

    name = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from compliance import retention  # noqa: F401 - registers the check of the consent records' floor
        from compliance.audit import privileges  # noqa: F401 - registers the deploy check of the database role
