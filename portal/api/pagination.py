"""Pagination shared by every list in the partner API."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView


class Pagination(PageNumberPagination):
    """Pages of 50 by default; `?page_size=` from 1 to 500, refused clearly when it is anything else."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.getlist(self.page_size_query_param)
        if not raw:
            return self.page_size
        value = raw[-1]
        if len(raw) > 1 or not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Use a whole number from 1 to {self.max_page_size}, once."]}
            )
        return int(value)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, object]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.page_query_param: {"minimum": 1}, self.page_size_query_param: {"minimum": 1, "maximum": 500}}
        for parameter in parameters:
            schema = parameter.get("schema")
            if isinstance(schema, dict):
                schema.update(bounds.get(str(parameter["name"]), {}))
        return parameters
