"""Pages of the partners app: the bank's own pages, onboarding, and the staff review queue."""

from django.urls import path

from .views import bank, onboarding, staff  # noqa: F401  (onboarding fills in below)

app_name = "partners"

# Pages for members of a bank, under /bank/.
bank_patterns = [
    path("bank/", bank.home, name="home"),
    path("bank/<slug:slug>/", bank.detail, name="detail"),
]

# Public pages: applying and accepting an invitation.
onboarding_patterns: list = []

# Pages for platform staff, under /staff/.
staff_patterns = [
    path("staff/banks/", staff.staff_home, name="staff-home"),
]

urlpatterns = [*bank_patterns, *onboarding_patterns, *staff_patterns]
