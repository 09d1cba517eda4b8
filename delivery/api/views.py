"""Partner API v1 views: post events, read one with its deliveries, replay webhooks."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from partners.api.permissions import calling_partner
from partners.models import WebhookEndpoint
from portal.errors import ApplicationError, NotFound
from portal.requests import client_ip

from .. import services
from ..models import PartnerEvent
from ..payloads import EventIntake
from ..selectors import event_for_partner, webhook_endpoint_for_partner
from .serializers import (
    BatchResult,
    EventSerializer,
    WebhookReplayResultSerializer,
    WebhookReplaySerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Makes a retry safe: the same key and body return the first answer. "
    "For a batch, event i gets the key `<Idempotency-Key>:<i>` unless it has an `event_id`.",
)


class EventIntakeView(generics.GenericAPIView[PartnerEvent]):
    """Post one event, or up to 500 as `{"events": [...]}`."""

    serializer_class = EventSerializer
    # A batch of 500 events may be 5 MB; every other call is held to 1 MB (portal.api.parsers).
    max_body_setting = "PORTAL_API_MAX_BATCH_BODY_BYTES"

    @extend_schema(
        summary="Post one event, or a batch of up to 500",
        parameters=[IDEMPOTENCY_HEADER],
        request=EventIntake,
        responses={
            202: OpenApiResponse(EventSerializer, description="One event, accepted: delivery has begun."),
            200: OpenApiResponse(EventSerializer, description="One event, sent before with the same key and body."),
            207: OpenApiResponse(BatchResult, description="A batch: each event's own outcome."),
            403: OpenApiResponse(description="`consent_required`, or the bank may not call now."),
        },
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise ApplicationError('Send one event object, or {"events": [...]}.', code="invalid")
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and not 1 <= len(key) <= 150:
            raise ApplicationError(
                "The Idempotency-Key header must be 1 to 150 characters.",
                code="invalid",
                fields={"Idempotency-Key": ["1 to 150 characters."]},
            )
        single = "events" not in body
        if single:
            events: list[Any] = [body]
        else:
            # Only the shape here: how many events a request may hold, event_intake checks.
            if set(body) != {"events"} or not isinstance(body["events"], list):
                raise ApplicationError(
                    'A batch is {"events": [...]} and nothing else.',
                    code="invalid",
                    fields={"events": ["Give a list of events."]},
                )
            events = body["events"]
        partner = calling_partner(request)
        items = services.event_intake(
            partner=partner,
            events=events,
            idempotency_key=key,
            actor=request.auth,
            single=single,
            ip=client_ip(request),
        )
        if single:
            [item] = items
            if item.outcome == "refused":
                raise item.error()
            assert item.event is not None
            event = event_for_partner(partner=partner, pk=item.event.pk)
            return Response(EventSerializer(event).data, status=item.http_status)
        return Response(BatchResult.of(items).model_dump(mode="json"), status=status.HTTP_207_MULTI_STATUS)


class EventDetailView(generics.RetrieveAPIView[PartnerEvent]):
    """One event of the calling bank, its deliveries and every attempt."""

    serializer_class = EventSerializer

    def get_object(self) -> PartnerEvent:
        event = event_for_partner(partner=calling_partner(self.request), pk=self.kwargs["pk"])
        if event is None:
            raise NotFound("Your bank has no event with this id.")
        return event

    @extend_schema(summary="One event, its deliveries and their attempts")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class WebhookReplayView(generics.GenericAPIView[WebhookEndpoint]):
    """Send again the webhook messages of one endpoint since a moment."""

    serializer_class = WebhookReplaySerializer

    @extend_schema(
        summary="Replay an endpoint's webhook messages since a time (at most 1000)",
        request=WebhookReplaySerializer,
        responses={202: WebhookReplayResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        endpoint = webhook_endpoint_for_partner(partner=calling_partner(request), pk=pk)
        if endpoint is None:
            raise NotFound("Your bank has no webhook endpoint with this id.")
        body = WebhookReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count = services.webhook_replay(
            endpoint=endpoint, since=body.validated_data["since"], actor=request.auth, ip=client_ip(request)
        )
        return Response({"replayed": count}, status=status.HTTP_202_ACCEPTED)
