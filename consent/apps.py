"""App configuration for consent."""

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    """Owns what people granted to which bank; signals revocations, sends nothing itself."""

    name = "consent"
    verbose_name = "Consent"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from partners import signals as partner_signals
        from partners.scope_effects import register_grant_changes_provider

        from . import receivers, selectors

        register_grant_changes_provider(selectors.grant_changes_for_bank)

        partner_signals.scope_retired.connect(
            receivers.revoke_for_retired_scope, dispatch_uid="consent.revoke_for_retired_scope"
        )
        partner_signals.scope_published.connect(
            receivers.follow_published_version, dispatch_uid="consent.follow_published_version"
        )
        partner_signals.partner_status_changed.connect(
            receivers.revoke_for_withdrawn_partner, dispatch_uid="consent.revoke_for_withdrawn_partner"
        )
