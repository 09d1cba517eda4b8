"""Serializer fields stricter than DRF's defaults, so the API accepts exactly what its schema says."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean: `true` or `false`, never 0, 1, "yes" or "true"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
