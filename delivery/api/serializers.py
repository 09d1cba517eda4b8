"""Partner API v1 serializers of events, their deliveries and attempts, and webhook replay."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from rest_framework import serializers

from portal.api.fields import StrictDateTimeField
from portal.api.strict import StrictSerializer

from ..models import Delivery, DeliveryAttempt, EventType, PartnerEvent
from ..payloads import Moment
from ..services import IntakeItem

OUTCOMES = ("accepted", "replayed", "refused")


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


class EventSummary(BaseModel):
    """An accepted event, briefly (in a batch's results)."""

    id: int
    event_id: str
    type: EventType
    link: int
    status: str
    created_at: Moment


class ItemError(BaseModel):
    """Why one event of a batch was refused: a stable code, a sentence, messages per field."""

    code: str
    message: str
    fields: dict[str, Any]


class BatchItem(BaseModel):
    """What became of one event of a batch."""

    index: int
    outcome: Literal["accepted", "replayed", "refused"]
    event: EventSummary | None
    error: ItemError | None


class BatchResult(BaseModel):
    """The answer to a batch: counts, then one result per event in the order sent."""

    accepted: int
    replayed: int
    refused: int
    results: list[BatchItem]

    @classmethod
    def of(cls, items: list[IntakeItem]) -> BatchResult:
        """Return the answer to a batch whose events came out as `items`."""
        results = [
            BatchItem(
                index=item.index,
                outcome=item.outcome,
                event=None
                if item.event is None
                else EventSummary(
                    id=item.event.pk,
                    event_id=item.event.idempotency_key,
                    type=EventType(item.event.type),
                    link=item.event.link_id,
                    status=item.event.status,
                    created_at=item.event.created_at,
                ),
                error=ItemError(code=item.code, message=item.message, fields=item.fields)
                if item.outcome == "refused"
                else None,
            )
            for item in items
        ]
        counts = {outcome: sum(1 for item in items if item.outcome == outcome) for outcome in OUTCOMES}
        return cls(**counts, results=results)


class WebhookReplaySerializer(StrictSerializer):
    """Send again every webhook message to the endpoint since a moment."""

    since = StrictDateTimeField(
        help_text="Replay messages created at or after this time (at most 1000); a time to come replays none."
    )


class WebhookReplayResultSerializer(serializers.Serializer[Any]):
    """How many messages were queued again."""

    replayed = serializers.IntegerField()
