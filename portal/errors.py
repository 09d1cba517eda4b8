"""The one error family that services raise and that pages and the API turn into messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.forms import BaseForm


def _messages(messages: Sequence[str] | Mapping[str, Any]) -> Any:
    """Return a field's messages as a list, or, for a nested body (an event's payload), per inner field."""
    if isinstance(messages, Mapping):
        return {name: _messages(inner) for name, inner in messages.items()}
    return list(messages)


class ApplicationError(Exception):
    """A rule said no: a stable `code`, a sentence that says what to do, and per-field errors.

    The API renders it as `{"error": {"code", "message", "fields"}}` with `status`; pages show the
    message at the top of the form and each field's message beside its field.
    """

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, Sequence[str] | Mapping[str, Any]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = {name: _messages(messages) for name, messages in (fields or {}).items()}


class NotFound(ApplicationError):
    """The thing does not exist, or the caller may not know that it does."""

    status = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"


class Conflict(ApplicationError):
    """The request clashes with the current state (a duplicate, a stale version)."""

    status = 409
    code = "conflict"


def show_on_form(form: BaseForm, error: ApplicationError | ValidationError) -> None:
    """Put the service's sentence at the top of `form` and each field's messages beside that field.

    Services raise ApplicationError for the platform's rules; a model's own `full_clean()` inside a
    service raises Django's ValidationError, which pages show the same way. A form may map service
    field names to its own with `SERVICE_FIELD_NAMES`, and a form whose fields are not all declared
    (the consent screen's, one per purpose on the page) says which names it shows errors beside with
    `takes_errors_for(name)`.
    """
    if isinstance(error, ApplicationError):
        form.add_error(None, error.message)
        fields: dict[str, list[str]] = error.fields
    else:
        form.add_error(None, "Some details are not valid. Correct them and try again.")
        fields = error.message_dict if hasattr(error, "error_dict") else {"__all__": list(error.messages)}
    renamed = getattr(form, "SERVICE_FIELD_NAMES", {})
    takes = getattr(form, "takes_errors_for", lambda name: name in form.fields)
    for name, field_messages in fields.items():
        if name == "_":
            continue  # about the whole request: the sentence at the top already says it
        field = renamed.get(name, name)
        for message in field_messages:
            form.add_error(field if takes(field) else None, message)
