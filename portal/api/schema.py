"""OpenAPI generation: every operation documents the error envelope for the errors it can give."""

from __future__ import annotations

from typing import Any

import drf_spectacular.contrib.pydantic  # noqa: F401 - registers the extension that renders pydantic models
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from pydantic import RootModel
from rest_framework import serializers

import portal.api.strict  # noqa: F401 - registers the extensions that render strict bodies and text fields


class ErrorDetailSerializer(serializers.Serializer[Any]):
    """What went wrong: a stable code, a sentence that says what to do, and per-field messages."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # Declared here because a class attribute named `fields` would shadow Serializer.fields.
        return {
            "code": serializers.CharField(help_text="Stable machine-readable code, e.g. `consent_required`."),
            "message": serializers.CharField(help_text="A sentence for people: what went wrong and what to do."),
            "fields": serializers.DictField(
                child=serializers.JSONField(),
                help_text="Messages per input field; `_` holds errors about the whole body.",
            ),
        }


class ErrorSerializer(serializers.Serializer[Any]):
    """The envelope of every API error."""

    error = ErrorDetailSerializer()


COMMON_ERRORS = {
    "401": "No API key, or one that is not valid (`not_authenticated`, `invalid_api_key`).",
    "403": "The bank may not do this now (`partner_suspended`, `terms_not_accepted`, `forbidden`, ...).",
    "429": "Too many requests for this key (`rate_limited`); see `Retry-After`.",
}
WRITE_ERRORS = {
    "400": "The body or a field is not valid (`invalid`; `malformed_json` for a body that is not JSON or nests "
    "deeper than 32 levels; ...).",
    "409": "The request clashes with what exists (`duplicate`, ...).",
    "413": "The body is larger than this address accepts: 1 MB, or 5 MB for an event batch (`payload_too_large`).",
}
OBJECT_ERRORS = {"404": "Nothing of your bank's exists at this address (`not_found`)."}
LIST_ERRORS = {
    "400": "A query parameter is not valid, such as `page_size` (`invalid`).",
    "404": "There is no such page (`not_found`).",
}


class PortalAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the error responses every partner API operation can give."""

    def _get_request_for_media_type(self, serializer: Any, direction: Any = "request") -> Any:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        # A pydantic root model is the whole body (event intake's one event or batch): it must be sent.
        if isinstance(serializer, type) and issubclass(serializer, RootModel):
            required = True
        return schema, required

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors = dict(COMMON_ERRORS)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors.update(WRITE_ERRORS)
        if "{" in self.path or self.method != "GET":
            errors.update(OBJECT_ERRORS)
        if self._is_list_view():
            errors.update(LIST_ERRORS)
        for status, description in errors.items():
            if status not in responses:
                responses[status] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), status, direction=direction
                )
        return responses
