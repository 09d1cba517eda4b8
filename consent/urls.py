"""Pages of the consent app."""

from django.urls import path

from . import views

app_name = "consent"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
