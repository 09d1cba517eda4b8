"""Pages for bank members: their bank's home and everything they manage there.

Every page is for members of the bank in the address only (others get 404). Reading is for every
member; changing the catalog, keys and webhooks needs `manage_partner` (managers and developers),
and inviting, removing and accepting terms need `manage_members` (managers). Each change is one
service call; a refusal from the service shows on the form or as a message. One module per part of
the bank's pages; the URL conf takes the views from here.
"""

from .api_keys import key_revoke, key_rotate, keys
from .catalog import scope_detail, scope_new, scope_publish, scope_retire, scopes
from .chatbot import capabilities, capability_detail, capability_new
from .overview import detail, home
from .people import invitation_revoke, member_remove, members
from .usage_terms import terms
from .webhook_endpoints import webhook_delete, webhook_rotate_secret, webhook_switch, webhooks

__all__ = [
    "capabilities",
    "capability_detail",
    "capability_new",
    "detail",
    "home",
    "invitation_revoke",
    "key_revoke",
    "key_rotate",
    "keys",
    "member_remove",
    "members",
    "scope_detail",
    "scope_new",
    "scope_publish",
    "scope_retire",
    "scopes",
    "terms",
    "webhook_delete",
    "webhook_rotate_secret",
    "webhook_switch",
    "webhooks",
]
