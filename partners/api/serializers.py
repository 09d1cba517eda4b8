"""Serializers of the partner API: they check the shape of input; services apply the rules."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictRegexField,
    StrictURLField,
)
from portal.api.strict import StrictModelSerializer, StrictSerializer
from portal.validators import validate_no_bidi_controls

from ..models import (
    MAX_GRANT_DAYS,
    ChatbotCapability,
    DataCategory,
    DataScope,
    DataScopeVersion,
    MessageType,
    Partner,
    PartnerApiKey,
    Purpose,
    WebhookEndpoint,
    WebhookEvent,
    capability_code_validator,
    scope_code_validator,
)
from ..selectors import partner_terms_status

# What the platform checks of an address it will call (partners.validators.validate_outbound_url).
OUTBOUND_URL_RULE = (
    "An https:// address (http:// only where the platform runs for development) without a user name or "
    "password, whose host resolves only to public addresses; otherwise refused with `invalid_url`, "
    "`insecure_url` or `unsafe_url` (400)."
)


@extend_schema_field({"type": "string", "enum": Purpose.values})
class PurposeField(StrictCharField):
    """A purpose code; unknown and forbidden ones get their own error codes from the service."""


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_GRANT_DAYS})
class GrantDaysField(StrictIntegerField):
    """Days a grant may last; over the platform's maximum the service refuses with `duration_too_long`."""


class TermsStatusSerializer(serializers.Serializer[Any]):
    """Where the bank stands with the usage terms."""

    state = serializers.ChoiceField(choices=["accepted", "not_accepted", "grace_period", "blocked", "no_terms"])
    current_version = serializers.IntegerField(allow_null=True)
    accepted_version = serializers.IntegerField(allow_null=True)
    grace_ends_at = serializers.DateTimeField(allow_null=True)


class PartnerSerializer(serializers.ModelSerializer[Partner]):
    """The calling bank as `/api/v1/partner/` shows it."""

    name = serializers.CharField(source="legal_name", read_only=True)
    key_environment = serializers.SerializerMethodField()
    terms_status = serializers.SerializerMethodField()

    class Meta:
        model = Partner
        fields = ["slug", "name", "status", "key_environment", "terms_status"]
        read_only_fields = fields

    def get_key_environment(self, partner: Partner) -> str:
        """Return `sandbox` or `live`: the environment of the key that made the request."""
        key = self.context["request"].auth
        assert isinstance(key, PartnerApiKey)
        return str(key.environment)

    @extend_schema_field(TermsStatusSerializer)
    def get_terms_status(self, partner: Partner) -> dict[str, Any]:
        """Return the bank's terms state and versions."""
        status = partner_terms_status(partner=partner)
        return {
            "state": status.state,
            "current_version": status.current.version if status.current else None,
            "accepted_version": status.accepted.terms.version if status.accepted else None,
            "grace_ends_at": status.grace_ends_at,
        }


class ScopeFieldSerializer(StrictSerializer):
    """One data field a scope covers."""

    name = StrictCharField(max_length=64)
    description = StrictCharField(max_length=300)


def _latest(scope: DataScope) -> DataScopeVersion:
    versions = list(scope.versions.all())  # prefetched newest first
    return versions[0]


class ScopeSerializer(StrictSerializer):
    """A scope as the API shows it: its newest version's wording, status and number."""

    code = StrictRegexField(
        scope_code_validator.regex,
        max_length=48,
        help_text="Like `balances.read`: lowercase words and underscores, a dot, then read, push or write.",
        error_messages={"invalid": scope_code_validator.message},
    )
    name = StrictCharField(max_length=120, validators=[validate_no_bidi_controls])
    description = StrictCharField(max_length=2000)
    category = serializers.ChoiceField(choices=DataCategory.choices)
    purposes = serializers.ListField(
        child=PurposeField(max_length=40),
        min_length=1,
        help_text="Subset of: " + ", ".join(Purpose.values) + ". There is no advertising or marketing purpose.",
    )
    sensitivity = serializers.ChoiceField(choices=DataScopeVersion.Sensitivity.choices)
    retention_days = StrictIntegerField(min_value=1, max_value=3650)
    max_duration_days = GrantDaysField(
        min_value=1, help_text=f"How long a grant may last: at most {MAX_GRANT_DAYS} days (else `duration_too_long`)."
    )
    status = serializers.ChoiceField(
        choices=["draft", "pending_review", "published", "retired"],
        required=False,
        help_text="PATCH `published` to publish the draft (high sensitivity waits for compliance), "
        "`retired` to retire.",
    )
    version = serializers.IntegerField(read_only=True)
    published_version = serializers.IntegerField(read_only=True, allow_null=True)

    def get_fields(self) -> dict[str, Any]:
        # Declared here because a class attribute named `fields` would shadow Serializer.fields.
        declared = super().get_fields()
        return {
            **declared,
            "fields": serializers.ListField(
                child=ScopeFieldSerializer(), min_length=1, help_text="The data the scope covers: name and meaning."
            ),
        }

    def to_representation(self, scope: DataScope) -> dict[str, Any]:
        latest = _latest(scope)
        if scope.retired_at is not None:
            status = "retired"
        elif latest.status in (DataScopeVersion.Status.DRAFT, DataScopeVersion.Status.PENDING_REVIEW):
            status = str(latest.status)
        else:
            status = "published"
        return {
            "code": scope.code,
            **latest.content(),
            "status": status,
            "version": latest.number,
            "published_version": scope.published_version.number if scope.published_version else None,
        }


class ScopePatchSerializer(ScopeSerializer):
    """PATCH body of a scope: every field optional; the code cannot change."""

    code = serializers.CharField(read_only=True)  # type: ignore[assignment]


class CapabilitySerializer(StrictModelSerializer):
    """A chatbot capability."""

    code = StrictRegexField(
        capability_code_validator.regex,
        max_length=50,
        help_text="Like `check_balance`: lowercase letters, digits and underscores. `new` is taken by the portal's "
        "page that creates one (`reserved_code`, 409).",
        error_messages={"invalid": capability_code_validator.message},
    )
    scopes = serializers.ListField(
        child=StrictRegexField(
            scope_code_validator.regex, max_length=48, error_messages={"invalid": scope_code_validator.message}
        ),
        required=False,
        help_text="Codes of your bank's published scopes; another code is refused with `scope_not_available` (409).",
    )
    sample_utterances = serializers.ListField(child=StrictCharField(max_length=300), required=False, max_length=50)
    message_types = serializers.ListField(child=serializers.ChoiceField(choices=MessageType.choices), min_length=1)
    webhook_url = StrictURLField(
        max_length=200,
        required=False,
        allow_null=True,
        help_text="Where the platform sends chat messages. " + OUTBOUND_URL_RULE,
    )
    signing_secret = serializers.CharField(
        read_only=True,
        help_text="Verify the `webhook-signature` of the `chat.message` and `fraud_alert.answered` webhooks "
        "posted to `webhook_url` with it (Standard Webhooks).",
    )

    class Meta:
        model = ChatbotCapability
        fields = [
            "code",
            "name",
            "description",
            "sample_utterances",
            "scopes",
            "message_types",
            "webhook_url",
            "signing_secret",
            "status",
        ]

    def to_representation(self, capability: ChatbotCapability) -> dict[str, Any]:
        return {
            "code": capability.code,
            "name": capability.name,
            "description": capability.description,
            "sample_utterances": capability.sample_utterances,
            "scopes": sorted(scope.code for scope in capability.scopes.all()),
            "message_types": capability.message_types,
            "webhook_url": capability.webhook_url or None,
            "signing_secret": capability.signing_secret,
            "status": capability.status,
        }


class CapabilityPatchSerializer(CapabilitySerializer):
    """PATCH body of a capability; the code cannot change."""

    code = serializers.CharField(read_only=True)  # type: ignore[assignment]


class WebhookEndpointSerializer(StrictModelSerializer):
    """A webhook endpoint; its secret appears only when it is created or rotated."""

    event_types = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices), min_length=1)
    is_active = StrictBooleanField(required=False)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = ["id", "disabled_at", "disabled_reason", "created_at"]
        extra_kwargs = {"url": {"help_text": "Where the platform sends webhooks. " + OUTBOUND_URL_RULE}}


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    """A webhook endpoint with its signing secret: shown once."""

    secret = serializers.CharField(read_only=True, help_text="Shown only now. Verify `webhook-signature` with it.")
    previous_secret_expires_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret", "previous_secret_expires_at"]
