"""`/favicon.ico`: browsers ask for it on every page, even when the page names its icon."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Send the browser to the icon among the static files (hashed under production settings)."""
    return HttpResponsePermanentRedirect(static("img/favicon.ico"))
