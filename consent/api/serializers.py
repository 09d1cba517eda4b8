"""Serializers of the consent part of the partner API: grants as banks see them, and attestations."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from partners.models import MessageType, Purpose
from portal.api.fields import QueryIntegerField, StrictCharField
from portal.api.strict import StrictSerializer

from ..models import ConsentGrant

STATUS_CHOICES = ConsentGrant.Status.values
LINK_ID_MAX = 2**63 - 1  # ids are 64-bit


class RevokedByField(serializers.ChoiceField):
    """Who revoked a grant, or null (the database keeps "" for a grant nobody revoked)."""

    def to_representation(self, value: Any) -> Any:
        return super().to_representation(value) if value else None


class ConsentSerializer(serializers.Serializer[ConsentGrant]):
    """A grant a person gave the calling bank; field names are part of the API contract."""

    id = serializers.IntegerField(read_only=True)
    link = serializers.IntegerField(
        source="link_id", read_only=True, help_text="The account link's id: the address for events."
    )
    account_ref = serializers.CharField(
        source="link.account_ref",
        read_only=True,
        help_text="Your bank's own reference for the linked account, as your authorisation server returned it.",
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
    revoked_by = RevokedByField(
        choices=ConsentGrant.RevokedBy.choices,
        allow_null=True,
        read_only=True,
        help_text="Who revoked the grant; null while it was not revoked.",
    )
    deletion_attested_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ConsentFilterSerializer(serializers.Serializer[Any]):
    """The list's query parameters."""

    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False)
    link = QueryIntegerField(required=False, min_value=1, max_value=LINK_ID_MAX)


class DeletionAttestationSerializer(StrictSerializer):
    """The bank's statement that it deleted what it held under an ended grant."""

    note = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Optional: how and where the data was deleted, for the record.",
    )
