"""Partner API v1 routes owned by partners."""

from django.urls import path

from . import views

urlpatterns = [
    path("partner/", views.PartnerDetailView.as_view(), name="api-partner"),
    path("scopes/", views.ScopeListView.as_view(), name="api-scopes"),
    path("scopes/<str:code>/", views.ScopeDetailView.as_view(), name="api-scope"),
    path("capabilities/", views.CapabilityListView.as_view(), name="api-capabilities"),
    path("capabilities/<str:code>/", views.CapabilityDetailView.as_view(), name="api-capability"),
    path("webhook-endpoints/", views.WebhookEndpointListView.as_view(), name="api-webhook-endpoints"),
    path("webhook-endpoints/<int:pk>/", views.WebhookEndpointDetailView.as_view(), name="api-webhook-endpoint"),
    path(
        "webhook-endpoints/<int:pk>/rotate-secret/",
        views.WebhookEndpointRotateSecretView.as_view(),
        name="api-webhook-endpoint-rotate-secret",
    ),
]
