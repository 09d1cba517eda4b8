"""A bank's slice of the audit trail, under the bank's pages (/bank/<slug>/trail/)."""

from django.urls import path

from .views import bank_trail

app_name = "bank_trail"

urlpatterns = [
    path("bank/<slug:slug>/trail/", bank_trail.trail, name="trail"),
    path("bank/<slug:slug>/trail/export/", bank_trail.export, name="export"),
    path("bank/<slug:slug>/trail/<int:pk>/", bank_trail.entry, name="entry"),
]
