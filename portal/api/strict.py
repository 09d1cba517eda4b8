"""Request bodies that take only what the schema names, and the schema that says so.

Every body of the partner API is a `StrictSerializer`: a field the contract does not name is refused
("This field is not part of the contract; leave it out."), as the event contract refuses it, so a
typo in a field name never passes silently. The schema says the same (`additionalProperties: false`
on every request body), and each text field's schema carries the regular expression its field
enforces (`portal.api.fields.text_pattern`).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from rest_framework import serializers

from .fields import (
    WEB_ADDRESS_PATTERN,
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
    StrictIntegerField,
    StrictText,
    StrictURLField,
    text_pattern,
)

UNKNOWN_FIELD = "This field is not part of the contract; leave it out."


class StrictSerializer(serializers.Serializer[Any]):
    """A request body: fields the serializer does not take (unknown or read-only) are refused."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: [UNKNOWN_FIELD] for name in unknown})
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer[Any]):
    """A ModelSerializer whose generated fields are the strict ones."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.URLField: StrictURLField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.DateTimeField: StrictDateTimeField,
    }


class StrictSerializerScheme(OpenApiSerializerExtension):
    """Request bodies of strict serializers forbid properties they do not name."""

    target_class = "portal.api.strict.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class StrictTextScheme(OpenApiSerializerFieldExtension):
    """A strict text field's schema names the characters it refuses (NUL, only spaces, direction controls)."""

    target_class = "portal.api.fields.StrictText"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        field = self.target
        assert isinstance(field, StrictText)
        # A regex field's own expression (added by drf-spectacular from its validator) already says what it takes.
        spelled_out = isinstance(field, serializers.RegexField)
        if isinstance(field, StrictURLField):
            if direction == "request":
                schema["pattern"] = WEB_ADDRESS_PATTERN
        elif direction == "request" and not spelled_out:
            blank = bool(getattr(field, "allow_blank", False))
            schema["pattern"] = text_pattern(blank=blank, bidi=field.refuses_bidi_controls())
        return schema
