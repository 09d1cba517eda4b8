"""Partner API v1 routes owned by consent."""

from django.urls import path

from . import views

urlpatterns = [
    path("consents/", views.ConsentListView.as_view(), name="api-consents"),
    path("consents/<int:pk>/", views.ConsentDetailView.as_view(), name="api-consent"),
    path(
        "consents/<int:pk>/deletion-attestation/",
        views.DeletionAttestationView.as_view(),
        name="api-consent-deletion-attestation",
    ),
]
