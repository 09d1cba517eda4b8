"""App configuration for consent."""

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    """Owns what people granted to which bank; signals revocations, sends nothing itself."""

    name = "consent"
    verbose_name = "Consent"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from partners import signals as partner_signals

        from . import receivers

        partner_signals.scope_retired.connect(
            receivers.revoke_for_retired_scope, dispatch_uid="consent.revoke_for_retired_scope"
        )
        partner_signals.scope_published.connect(
            receivers.revoke_for_withdrawn_purposes, dispatch_uid="consent.revoke_for_withdrawn_purposes"
        )
        partner_signals.partner_status_changed.connect(
            receivers.revoke_for_withdrawn_partner, dispatch_uid="consent.revoke_for_withdrawn_partner"
        )
