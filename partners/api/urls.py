"""Partner API v1 routes owned by partners."""

from django.urls import path

from . import views

urlpatterns = [
    path("partner/", views.PartnerDetailView.as_view(), name="api-partner"),
]
