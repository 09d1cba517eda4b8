"""Partner banks, their people, catalog (scopes and capabilities), usage terms, keys and webhooks.

One module per sub-domain; callers import the models from here.
"""

from .catalog import (
    MAX_GRANT_DAYS,
    ChatbotCapability,
    DataCategory,
    DataScope,
    DataScopeVersion,
    MessageType,
    Purpose,
    capability_code_validator,
    scope_code_validator,
)
from .credentials import PartnerApiKey, WebhookEndpoint, WebhookEvent
from .partner import Invitation, Partner, PartnerMembership, PartnerUserObjectPermission
from .terms import TermsAcceptance, UsageTerms

__all__ = [
    "MAX_GRANT_DAYS",
    "ChatbotCapability",
    "DataCategory",
    "DataScope",
    "DataScopeVersion",
    "Invitation",
    "MessageType",
    "Partner",
    "PartnerApiKey",
    "PartnerMembership",
    "PartnerUserObjectPermission",
    "Purpose",
    "TermsAcceptance",
    "UsageTerms",
    "WebhookEndpoint",
    "WebhookEvent",
    "capability_code_validator",
    "scope_code_validator",
]
