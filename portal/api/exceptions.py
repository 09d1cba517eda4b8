"""Turn every exception an API view raises into `{"error": {"code", "message", "fields"}}`."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from portal.errors import ApplicationError

logger = logging.getLogger(__name__)

# DRF's exception classes and the stable code and sentence each becomes.
DRF_CODES: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.NotAuthenticated: (
        "not_authenticated",
        "Send your API key as 'Authorization: Bearer <key>'.",
    ),
    exceptions.AuthenticationFailed: (
        "invalid_api_key",
        "This API key is not valid. Check it, or create a new one on your bank's page.",
    ),
    exceptions.PermissionDenied: ("forbidden", "This key may not do that."),
    exceptions.NotFound: ("not_found", "Nothing exists at this address for your bank."),
    exceptions.MethodNotAllowed: ("method_not_allowed", "This address does not accept that method."),
    exceptions.NotAcceptable: ("not_acceptable", "Ask for 'application/json'."),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Send the body as 'application/json'."),
    exceptions.ParseError: ("malformed_json", "The body is not valid JSON. Check it and send it again."),
    exceptions.Throttled: ("rate_limited", "Too many requests. Wait and try again."),
    exceptions.ValidationError: ("invalid", "Some fields are not valid. Correct them and send again."),
}


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the API's error envelope."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> dict[str, Any]:
    """Return DRF validation detail as `{field: [messages]}` (non-field errors under `_`)."""
    if isinstance(detail, dict):
        return {key: _messages(value) for key, value in detail.items()}
    return {"_": _messages(detail)}


def _messages(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _messages(inner) for key, inner in value.items()}
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return [str(item) for item in value]
        return [_messages(item) for item in value]
    return [str(value)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Return the error envelope for any exception; never a stack trace."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, should anything read request.body before the parser does.
        return Response(
            error_body("payload_too_large", "The body is larger than this address accepts. Send a smaller body."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        # A model's full_clean() in a service: the same envelope as a serializer's field errors.
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"_": exc.messages})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        code, message = next(
            (pair for cls, pair in DRF_CODES.items() if isinstance(exc, cls)),
            (str(exc.default_code), str(exc.default_detail)),
        )
        fields: dict[str, Any] = {}
        if isinstance(exc, exceptions.ValidationError):
            fields = _flatten(exc.detail)
        wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
        if wait is not None:
            message = f"Too many requests. Try again in {int(wait) + 1} seconds."
        headers: dict[str, str] = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
        return Response(error_body(code, message, fields), status=exc.status_code, headers=headers)
    logger.exception("Unhandled API error", exc_info=exc)
    set_rollback()
    return Response(
        error_body("internal_error", "Something went wrong on our side. Try again; if it persists, tell us."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
