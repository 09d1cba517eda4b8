"""Partner API v1 views for the calling bank itself."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .permissions import calling_partner
from .serializers import PartnerSerializer


class PartnerDetailView(APIView):
    """The bank whose key made the request."""

    @extend_schema(responses=PartnerSerializer, summary="The calling bank, its status and key environment")
    def get(self, request: Request) -> Response:
        partner = calling_partner(request)
        return Response(PartnerSerializer(partner, context={"request": request}).data)
