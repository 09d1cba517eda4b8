"""Partner API v1 views for the calling bank: itself, its catalog and its webhook endpoints."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.errors import NotFound

from .. import services
from ..models import ChatbotCapability, DataScope, WebhookEndpoint
from ..selectors import capabilities_for_partner, scopes_for_partner, webhook_endpoints_for_partner
from .permissions import IsPartnerKey, calling_partner
from .serializers import (
    CapabilityPatchSerializer,
    CapabilitySerializer,
    PartnerSerializer,
    ScopePatchSerializer,
    ScopeSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
)


class PartnerDetailView(APIView):
    """The bank whose key made the request; answers even when terms block the rest of the API."""

    permission_classes = [IsPartnerKey]

    @extend_schema(responses=PartnerSerializer, summary="The calling bank, its status and terms status")
    def get(self, request: Request) -> Response:
        return Response(PartnerSerializer(calling_partner(request), context={"request": request}).data)


@extend_schema_view(
    post=extend_schema(summary="Declare a scope (its first version is a draft; send status=published to publish)")
)
class ScopeListView(generics.ListCreateAPIView[DataScope]):
    """The calling bank's scope catalog."""

    serializer_class = ScopeSerializer

    def get_queryset(self) -> Any:
        return scopes_for_partner(partner=calling_partner(self.request))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ScopeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        wanted_status = data.pop("status", "draft")
        with transaction.atomic():
            scope = services.scope_create(partner=calling_partner(request), actor=request.auth, **data)
            if wanted_status == "published":
                services.scope_publish(scope=scope, actor=request.auth)
        return Response(ScopeSerializer(self.get_queryset().get(pk=scope.pk)).data, status=status.HTTP_201_CREATED)


# The handlers are `patch` and `post` (which call partial_update and create), so the schema is declared on them.
@extend_schema_view(patch=extend_schema(request=ScopePatchSerializer, responses=ScopeSerializer))
class ScopeDetailView(generics.RetrieveUpdateAPIView[DataScope]):
    """One scope of the calling bank, by code: PATCH changes the draft, publishes or retires it."""

    serializer_class = ScopeSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> DataScope:
        scope = scopes_for_partner(partner=calling_partner(self.request)).filter(code=self.kwargs["code"]).first()
        if scope is None:
            raise NotFound("Your bank has no scope with this code.")
        return scope

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scope = self.get_object()
        serializer = ScopePatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        wanted_status = changes.pop("status", None)
        with transaction.atomic():
            if changes:
                services.scope_update(scope=scope, actor=request.auth, **changes)
            if wanted_status == "published":
                services.scope_publish(scope=scope, actor=request.auth)
            elif wanted_status == "retired":
                services.scope_retire(scope=scope, actor=request.auth)
        return Response(ScopeSerializer(self.get_object()).data)


class CapabilityListView(generics.ListCreateAPIView[ChatbotCapability]):
    """The calling bank's chatbot capabilities."""

    serializer_class = CapabilitySerializer

    def get_queryset(self) -> Any:
        return capabilities_for_partner(partner=calling_partner(self.request))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CapabilitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        capability = services.capability_create(
            partner=calling_partner(request), code=data.pop("code"), actor=request.auth, **data
        )
        return Response(CapabilitySerializer(capability).data, status=status.HTTP_201_CREATED)


@extend_schema_view(patch=extend_schema(request=CapabilityPatchSerializer, responses=CapabilitySerializer))
class CapabilityDetailView(generics.RetrieveUpdateAPIView[ChatbotCapability]):
    """One chatbot capability of the calling bank, by code."""

    serializer_class = CapabilitySerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> ChatbotCapability:
        capability = (
            capabilities_for_partner(partner=calling_partner(self.request)).filter(code=self.kwargs["code"]).first()
        )
        if capability is None:
            raise NotFound("Your bank has no capability with this code.")
        return capability

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        capability = self.get_object()
        serializer = CapabilityPatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.capability_update(capability=capability, actor=request.auth, **serializer.validated_data)
        return Response(CapabilitySerializer(self.get_object()).data)


@extend_schema_view(post=extend_schema(responses={201: WebhookEndpointWithSecretSerializer}))
class WebhookEndpointListView(generics.ListCreateAPIView[WebhookEndpoint]):
    """The calling bank's webhook endpoints."""

    serializer_class = WebhookEndpointSerializer

    def get_queryset(self) -> Any:
        return webhook_endpoints_for_partner(partner=calling_partner(self.request))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, _secret = services.webhook_endpoint_create(
            partner=calling_partner(request),
            url=data["url"],
            event_types=data["event_types"],
            description=data.get("description", ""),
            actor=request.auth,
        )
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(generics.RetrieveUpdateDestroyAPIView[WebhookEndpoint]):
    """One webhook endpoint of the calling bank."""

    serializer_class = WebhookEndpointSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_object(self) -> WebhookEndpoint:
        endpoint = (
            webhook_endpoints_for_partner(partner=calling_partner(self.request)).filter(pk=self.kwargs["pk"]).first()
        )
        if endpoint is None:
            raise NotFound("Your bank has no webhook endpoint with this id.")
        return endpoint

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        serializer = WebhookEndpointSerializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, actor=request.auth, **serializer.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.webhook_endpoint_delete(endpoint=self.get_object(), actor=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretView(generics.GenericAPIView[WebhookEndpoint]):
    """Give an endpoint a new secret; the old one keeps signing for 24 hours."""

    serializer_class = WebhookEndpointWithSecretSerializer

    @extend_schema(request=None, responses=WebhookEndpointWithSecretSerializer)
    def post(self, request: Request, pk: int) -> Response:
        endpoint = webhook_endpoints_for_partner(partner=calling_partner(self.request)).filter(pk=pk).first()
        if endpoint is None:
            raise NotFound("Your bank has no webhook endpoint with this id.")
        endpoint, _secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=request.auth)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)
