"""Pages of the compliance app."""

from django.urls import path

from .views import reviews, trail

app_name = "compliance"

urlpatterns = [
    path("", trail.home, name="home"),
    path("export/", trail.export, name="export"),
    path("entries/<int:pk>/", trail.entry, name="entry"),
    path("verify/", trail.verify, name="verify"),
    path("verify/<int:pk>/", trail.verification, name="verification"),
    path("verify/<int:pk>/status/", trail.verification_status, name="verification-status"),
    path("scopes/", reviews.scope_reviews, name="scope-reviews"),
    path("grant-changes/", reviews.grant_changes, name="grant-changes"),
]
