"""Every write to partner banks, their people, catalog, terms, keys and webhooks; each one audited.

One module per sub-domain; callers import the services from here.
"""

from .capabilities import CAPABILITY_FIELDS, RESERVED_CAPABILITY_CODES, capability_create, capability_update
from .catalog import SCOPE_CONTENT_FIELDS, scope_create, scope_publish, scope_retire, scope_review, scope_update
from .credentials import (
    API_KEY_LAST_USED_RESOLUTION,
    parse_api_key,
    partner_api_key_create,
    partner_api_key_revoke,
    partner_api_key_rotate,
    partner_api_key_touch,
)
from .lifecycle import partner_apply, partner_create, partner_transition
from .members import (
    invitation_accept,
    invitation_check,
    invitation_create,
    invitation_for_token,
    invitation_revoke,
    partner_member_add,
    partner_member_remove,
)
from .terms import terms_accept, terms_publish
from .webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)

__all__ = [
    "API_KEY_LAST_USED_RESOLUTION",
    "CAPABILITY_FIELDS",
    "RESERVED_CAPABILITY_CODES",
    "SCOPE_CONTENT_FIELDS",
    "capability_create",
    "capability_update",
    "invitation_accept",
    "invitation_check",
    "invitation_create",
    "invitation_for_token",
    "invitation_revoke",
    "parse_api_key",
    "partner_api_key_create",
    "partner_api_key_revoke",
    "partner_api_key_rotate",
    "partner_api_key_touch",
    "partner_apply",
    "partner_create",
    "partner_member_add",
    "partner_member_remove",
    "partner_transition",
    "scope_create",
    "scope_publish",
    "scope_retire",
    "scope_review",
    "scope_update",
    "terms_accept",
    "terms_publish",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disable",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_update",
]
