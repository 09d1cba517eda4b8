"""Pages of the compliance app."""

from django.urls import path

from . import views

app_name = "compliance"

urlpatterns = [
    path("", views.home, name="home"),
    path("verify/", views.verify, name="verify"),
    path("scopes/", views.scope_reviews, name="scope-reviews"),
    path("grant-changes/", views.grant_changes, name="grant-changes"),
]
