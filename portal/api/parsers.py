"""The partner API's JSON parser: bodies of bounded size and bounded nesting, refused before they cost us."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from portal.errors import ApplicationError

# The contract's deepest document is an event batch: {"events": [{"payload": {"card": {"places": [{...}]}}}]}.
# Twice that and some room is plenty; anything deeper is an attack on the parser, not a bank's data.
MAX_DEPTH = 32


def body_limit(view: Any) -> int:
    """Return the largest body, in bytes, that `view` accepts (its `max_body_setting`, else 1 MB's setting)."""
    return int(getattr(settings, getattr(view, "max_body_setting", "PORTAL_API_MAX_BODY_BYTES")))


def too_large(limit: int) -> ApplicationError:
    """Return the 413 error for a body over `limit` bytes."""
    return ApplicationError(
        f"The body is larger than this address accepts ({limit // 1024} KB). "
        "Send a smaller body, or split a batch of events into several requests.",
        code="payload_too_large",
        status=413,
    )


def _depth_exceeds(document: Any, limit: int) -> bool:
    """Return True when `document` nests lists and objects deeper than `limit` (no recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser that reads at most the view's body limit and refuses deep nesting.

    DRF reads the body straight from the socket, past DATA_UPLOAD_MAX_MEMORY_SIZE, so the limit is
    enforced here: first by the declared Content-Length, then by the bytes actually read (a client
    may lie about the length, or send none and stream).
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        context = parser_context or {}
        limit = body_limit(context.get("view"))
        request = context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and str(declared).isdigit() and int(declared) > limit:
            raise too_large(limit)
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise too_large(limit)
        try:
            document = super().parse(io.BytesIO(body), media_type, parser_context)
            deep = _depth_exceeds(document, MAX_DEPTH)
        except RecursionError:  # Python's json module recurses: '[' * 100000 never finishes parsing
            deep = True
        if deep:
            raise ApplicationError(
                f"The body nests lists and objects more than {MAX_DEPTH} levels deep, which no request needs. "
                "Check how it is built and send it again.",
                code="malformed_json",
            )
        return document
