"""Partner API v1 routes owned by delivery."""

from django.urls import path

from . import views

urlpatterns = [
    path("events/", views.EventIntakeView.as_view(), name="api-events"),
    path("events/<int:pk>/", views.EventDetailView.as_view(), name="api-event"),
    path("webhook-endpoints/<int:pk>/replay/", views.WebhookReplayView.as_view(), name="api-webhook-endpoint-replay"),
]
