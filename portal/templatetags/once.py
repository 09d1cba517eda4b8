"""`{% once_field %}`: a hidden field that lets a view tell a form's first sending from a browser's resend."""

from __future__ import annotations

import uuid

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def once_field() -> SafeString:
    """Return a hidden `once` field with a new random token (see `portal.forms.sent_before`)."""
    return format_html('<input type="hidden" name="once" value="{}">', uuid.uuid4().hex)
