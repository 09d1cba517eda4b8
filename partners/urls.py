"""Pages of the partners app: the bank's own pages, onboarding, and the staff review queue."""

from django.urls import path

from .views import bank, onboarding, staff

app_name = "partners"

# Pages for members of a bank, under /bank/.
bank_patterns = [
    path("bank/", bank.home, name="home"),
    path("bank/<slug:slug>/", bank.detail, name="detail"),
    path("bank/<slug:slug>/members/", bank.members, name="members"),
    path("bank/<slug:slug>/members/<int:pk>/remove/", bank.member_remove, name="member-remove"),
    path("bank/<slug:slug>/invitations/<int:pk>/withdraw/", bank.invitation_revoke, name="invitation-revoke"),
    path("bank/<slug:slug>/scopes/", bank.scopes, name="scopes"),
    path("bank/<slug:slug>/scopes/new/", bank.scope_new, name="scope-new"),
    path("bank/<slug:slug>/scopes/<str:code>/", bank.scope_detail, name="scope"),
    path("bank/<slug:slug>/scopes/<str:code>/publish/", bank.scope_publish, name="scope-publish"),
    path("bank/<slug:slug>/scopes/<str:code>/retire/", bank.scope_retire, name="scope-retire"),
    path("bank/<slug:slug>/capabilities/", bank.capabilities, name="capabilities"),
    path("bank/<slug:slug>/capabilities/new/", bank.capability_new, name="capability-new"),
    path("bank/<slug:slug>/capabilities/<str:code>/", bank.capability_detail, name="capability"),
    path("bank/<slug:slug>/terms/", bank.terms, name="terms"),
    path("bank/<slug:slug>/keys/", bank.keys, name="keys"),
    path("bank/<slug:slug>/keys/<int:pk>/revoke/", bank.key_revoke, name="key-revoke"),
    path("bank/<slug:slug>/keys/<int:pk>/rotate/", bank.key_rotate, name="key-rotate"),
    path("bank/<slug:slug>/webhooks/", bank.webhooks, name="webhooks"),
    path("bank/<slug:slug>/webhooks/<int:pk>/switch/", bank.webhook_switch, name="webhook-switch"),
    path("bank/<slug:slug>/webhooks/<int:pk>/rotate-secret/", bank.webhook_rotate_secret, name="webhook-rotate-secret"),
    path("bank/<slug:slug>/webhooks/<int:pk>/delete/", bank.webhook_delete, name="webhook-delete"),
]

# Public pages: applying and accepting an invitation.
onboarding_patterns = [
    path("partners/apply/", onboarding.apply, name="apply"),
    path("partners/apply/sent/", onboarding.apply_sent, name="apply-sent"),
    path("invitations/<str:token>/", onboarding.invitation, name="invitation"),
]

# Pages for platform staff, under /staff/.
staff_patterns = [
    path("staff/banks/", staff.staff_home, name="staff-home"),
    path("staff/banks/<slug:slug>/", staff.staff_detail, name="staff-detail"),
    path("staff/terms/", staff.staff_terms, name="staff-terms"),
    path("staff/terms/new/", staff.staff_terms_new, name="staff-terms-new"),
]

urlpatterns = [*bank_patterns, *onboarding_patterns, *staff_patterns]
