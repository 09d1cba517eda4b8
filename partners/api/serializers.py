"""Serializers for the partner API's view of partner banks."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Partner, PartnerApiKey


class PartnerSerializer(serializers.ModelSerializer[Partner]):
    """The calling bank as `/api/v1/partner/` shows it."""

    name = serializers.CharField(source="legal_name", read_only=True)
    key_environment = serializers.SerializerMethodField()

    class Meta:
        model = Partner
        fields = ["slug", "name", "status", "key_environment"]
        read_only_fields = fields

    def get_key_environment(self, partner: Partner) -> str:
        """Return `sandbox` or `live`: the environment of the key that made the request."""
        key = self.context["request"].auth
        assert isinstance(key, PartnerApiKey)
        return str(key.environment)
