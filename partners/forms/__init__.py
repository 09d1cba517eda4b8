"""HTML forms of the partners app, one module per part of it; they check shape, services decide the rules."""

from .capabilities import CapabilityCreateForm, CapabilityForm
from .catalog import ScopeCreateForm, ScopeForm, fields_as_text
from .credentials import ApiKeyForm, WebhookEndpointForm, WebhookSwitchForm
from .fields import OpenMultipleChoiceField
from .members import InvitationForm, TermsAcceptanceForm
from .onboarding import InvitationAccountForm, PartnerApplicationForm
from .staff import PartnerTransitionForm, TermsForm

__all__ = [
    "ApiKeyForm",
    "CapabilityCreateForm",
    "CapabilityForm",
    "InvitationAccountForm",
    "InvitationForm",
    "OpenMultipleChoiceField",
    "PartnerApplicationForm",
    "PartnerTransitionForm",
    "ScopeCreateForm",
    "ScopeForm",
    "TermsAcceptanceForm",
    "TermsForm",
    "WebhookEndpointForm",
    "WebhookSwitchForm",
    "fields_as_text",
]
