"""Partner API v1 serializers of events, their deliveries and attempts, and webhook replay."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.schema import ErrorDetailSerializer

from ..models import Delivery, DeliveryAttempt, PartnerEvent


class AttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    """One try at sending: when, the answer's status code, how long, and an excerpt of the answer."""

    response = serializers.CharField(source="response_excerpt")

    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "duration_ms", "succeeded", "response", "error"]


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    """The event's way to one channel."""

    attempts = AttemptSerializer(many=True, source="attempt_log")

    class Meta:
        model = Delivery
        fields = ["id", "channel", "status", "delivered_at", "next_attempt_at", "last_error", "attempts"]


class EventSerializer(serializers.ModelSerializer[PartnerEvent]):
    """An event as the platform holds it."""

    event_id = serializers.CharField(source="idempotency_key")
    link = serializers.IntegerField(source="link_id")
    payload = serializers.DictField()
    deliveries = DeliverySerializer(many=True)

    class Meta:
        model = PartnerEvent
        fields = ["id", "event_id", "type", "link", "payload", "deliver_by", "status", "created_at", "deliveries"]


class EventSummarySerializer(serializers.ModelSerializer[PartnerEvent]):
    """An accepted event, briefly (in a batch's results)."""

    event_id = serializers.CharField(source="idempotency_key")
    link = serializers.IntegerField(source="link_id")

    class Meta:
        model = PartnerEvent
        fields = ["id", "event_id", "type", "link", "status", "created_at"]


OUTCOMES = ["accepted", "replayed", "refused"]


class BatchItemSerializer(serializers.Serializer[Any]):
    """What became of one event of a batch."""

    index = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    # One nested serializer for every item: a new one per item would copy its fields 500 times.
    event = EventSummarySerializer(allow_null=True)
    error = serializers.SerializerMethodField()

    @extend_schema_field(ErrorDetailSerializer(allow_null=True))
    def get_error(self, item: Any) -> dict[str, Any] | None:
        if item.outcome != "refused":
            return None
        return {"code": item.code, "message": item.message, "fields": item.fields}


class BatchResultSerializer(serializers.Serializer[Any]):
    """The answer to a batch: counts, then one result per event in the order sent."""

    accepted = serializers.IntegerField()
    replayed = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BatchItemSerializer(many=True)


class WebhookReplaySerializer(serializers.Serializer[Any]):
    """Send again every webhook message to the endpoint since a moment."""

    since = serializers.DateTimeField(help_text="Replay messages created at or after this time (at most 1000).")


class WebhookReplayResultSerializer(serializers.Serializer[Any]):
    """How many messages were queued again."""

    replayed = serializers.IntegerField()
