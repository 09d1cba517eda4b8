"""`Authorization: Bearer <api key>` for the partner API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from portal.errors import ApplicationError

from ..models import Partner, PartnerApiKey
from ..selectors import partner_api_key_for_raw
from ..services import partner_api_key_touch


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Find the bank by its API key; a suspended or withdrawn bank's keys stop working at once."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, PartnerApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw_key = header.partition(" ")
        if keyword != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed()
        key = partner_api_key_for_raw(raw_key=raw_key.strip())
        if key is None:
            raise exceptions.AuthenticationFailed()
        if key.partner.status == Partner.Status.SUSPENDED:
            raise ApplicationError(
                "Your bank is suspended: its API keys are refused until platform staff lift the suspension.",
                code="partner_suspended",
                status=403,
            )
        if not key.partner.may_call_api:
            raise ApplicationError(
                "Your bank is not yet approved for the API. Platform staff will tell you when it is.",
                code="partner_not_approved",
                status=403,
            )
        partner_api_key_touch(key=key)
        # The bank acts through its key; there is no person behind an API request.
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="partner-api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe API-key auth in the OpenAPI schema."""

    target_class = "partners.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A partner API key (pbk_sandbox_… or pbk_live_…)."}
