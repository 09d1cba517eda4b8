"""Serializers of the consent part of the partner API: grants as banks see them, and attestations."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partners.models import MessageType, Purpose

from ..models import ConsentGrant

STATUS_CHOICES = ConsentGrant.Status.values


class ConsentSerializer(serializers.Serializer[ConsentGrant]):
    """A grant a person gave the calling bank; field names are part of the API contract."""

    id = serializers.IntegerField(read_only=True)
    link = serializers.IntegerField(
        source="link_id", read_only=True, help_text="The account link's id: the address for events."
    )
    scope = serializers.CharField(source="scope.code", read_only=True, help_text="The scope's code.")
    scope_version = serializers.IntegerField(
        source="scope_version.number", read_only=True, help_text="The version of the scope the person read."
    )
    purpose = serializers.ChoiceField(choices=Purpose.choices, read_only=True)
    message_types = serializers.ListField(
        child=serializers.ChoiceField(choices=MessageType.choices),
        read_only=True,
        help_text="The message types the person left switched on.",
    )
    status = serializers.ChoiceField(choices=ConsentGrant.Status.choices, read_only=True)
    granted_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revoked_by = serializers.SerializerMethodField()
    deletion_attested_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema_field({"type": "string", "enum": ConsentGrant.RevokedBy.values, "nullable": True, "readOnly": True})
    def get_revoked_by(self, grant: ConsentGrant) -> str | None:
        """Return who revoked the grant, or null while it was not revoked."""
        return grant.revoked_by or None


class ConsentFilterSerializer(serializers.Serializer[Any]):
    """The list's query parameters."""

    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False)
    link = serializers.IntegerField(required=False, min_value=1)


class DeletionAttestationSerializer(serializers.Serializer[Any]):
    """The bank's statement that it deleted what it held under an ended grant."""

    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Optional: how and where the data was deleted, for the record.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
