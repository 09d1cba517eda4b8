"""Template filters of the consent pages: labels for codes, and per-field errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from partners.models import MessageType, Purpose

from ..purposes import message_types_for

register = template.Library()


@register.filter
def message_type_label(code: str) -> str:
    """Return a message type's name for people ('Balance update')."""
    return str(dict(MessageType.choices).get(code, code))


@register.filter
def purpose_label(code: str) -> str:
    """Return a purpose's name for people ('Account updates')."""
    return str(dict(Purpose.choices).get(code, code))


@register.filter
def iso_datetime(value: str | None) -> datetime | None:
    """Return the datetime an ISO 8601 string in a receipt stands for (None stays None)."""
    return datetime.fromisoformat(value) if value else None


@register.filter
def errors_for(field_errors: dict[str, list[str]] | None, name: str) -> list[str]:
    """Return the messages to show beside the field `name`."""
    return (field_errors or {}).get(name, [])


@register.filter
def was_posted(posted: Any, pair: str) -> bool:
    """Return True when the person's own last submission had `name=value` ticked (to keep their choices)."""
    return bool(posted) and pair in posted


@register.filter
def has_message_choice(purpose: str) -> bool:
    """Return True when a purpose offers more than one kind of message, so listing them says something."""
    return len(message_types_for(purpose)) > 1
