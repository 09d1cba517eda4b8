"""App configuration for delivery."""

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Owns every send; asks the consent check before each one."""

    name = "delivery"
    verbose_name = "Delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from consent import signals as consent_signals
        from consent.selectors import register_shared_summary_provider
        from partners import signals as partner_signals

        from . import receivers, selectors

        register_shared_summary_provider(selectors.shared_summaries)

        consent_signals.consent_changed.connect(receivers.on_consent_changed, dispatch_uid="delivery.consent_changed")
        consent_signals.consent_expiry_reminded.connect(
            receivers.on_consent_expiry_reminded, dispatch_uid="delivery.consent_expiry_reminded"
        )
        consent_signals.consent_scope_changed.connect(
            receivers.on_consent_scope_changed, dispatch_uid="delivery.consent_scope_changed"
        )
        partner_signals.partner_status_changed.connect(
            receivers.on_partner_status_changed, dispatch_uid="delivery.partner_status_changed"
        )
        partner_signals.terms_published.connect(receivers.on_terms_published, dispatch_uid="delivery.terms_published")
