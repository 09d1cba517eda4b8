"""Partner API v1 views over the grants people gave the calling bank."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from partners.api.permissions import calling_key, calling_partner
from portal.errors import NotFound
from portal.requests import client_ip

from .. import services
from ..models import ConsentGrant
from ..selectors import grant_for_partner, grants_for_partner
from .serializers import (
    LINK_ID_MAX,
    STATUS_CHOICES,
    ConsentFilterSerializer,
    ConsentSerializer,
    DeletionAttestationSerializer,
)


class ConsentListView(generics.ListAPIView[ConsentGrant]):
    """Grants people gave the calling bank, newest first."""

    serializer_class = ConsentSerializer

    def get_queryset(self) -> Any:
        filters = ConsentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return grants_for_partner(
            partner=calling_partner(self.request),
            environment=calling_key(self.request).environment,
            status=filters.validated_data.get("status"),
            link_id=filters.validated_data.get("link"),
        )

    @extend_schema(
        summary="Grants people gave your bank (filter by status and link)",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=STATUS_CHOICES, description="Only grants in this state."),
            OpenApiParameter(
                "link",
                {"type": "integer", "minimum": 1, "maximum": LINK_ID_MAX},
                description="Only grants on this account link (its id).",
            ),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ConsentDetailView(generics.RetrieveAPIView[ConsentGrant]):
    """One grant people gave the calling bank."""

    serializer_class = ConsentSerializer

    def get_object(self) -> ConsentGrant:
        grant = grant_for_partner(
            partner=calling_partner(self.request),
            pk=self.kwargs["pk"],
            environment=calling_key(self.request).environment,
        )
        if grant is None:
            raise NotFound("Your bank has no consent with this id.")
        return grant

    @extend_schema(summary="One grant given to your bank")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DeletionAttestationView(generics.GenericAPIView[ConsentGrant]):
    """The bank attests that it deleted the data it held under a revoked or expired grant."""

    serializer_class = DeletionAttestationSerializer

    @extend_schema(
        summary="Attest that your bank deleted the data of an ended grant (repeating it changes nothing)",
        request=DeletionAttestationSerializer,
        responses=ConsentSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        partner = calling_partner(request)
        grant = grant_for_partner(partner=partner, pk=pk, environment=calling_key(request).environment)
        if grant is None:
            raise NotFound("Your bank has no consent with this id.")
        body = DeletionAttestationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.consent_attest_deletion(
            grant=grant,
            partner=partner,
            actor=request.auth,
            note=body.validated_data.get("note", ""),
            ip=client_ip(request),
        )
        refreshed = grant_for_partner(partner=partner, pk=pk, environment=calling_key(request).environment)
        return Response(ConsentSerializer(refreshed).data)
