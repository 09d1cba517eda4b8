"""Pages of the compliance app."""

from django.urls import path

from .views import reviews, trail

app_name = "compliance"

urlpatterns = [
    path("", trail.home, name="home"),
    path("verify/", trail.verify, name="verify"),
    path("scopes/", reviews.scope_reviews, name="scope-reviews"),
    path("grant-changes/", reviews.grant_changes, name="grant-changes"),
]
