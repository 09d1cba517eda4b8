"""The one error family that services raise and that pages and the API turn into messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.forms import BaseForm


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
        fields: Mapping[str, Sequence[str]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = {name: list(messages) for name, messages in (fields or {}).items()}


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


def show_on_form(form: BaseForm, error: ApplicationError) -> None:
    """Put the error's message at the top of `form` and each field's messages beside that field."""
    form.add_error(None, error.message)
    for name, messages in error.fields.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
