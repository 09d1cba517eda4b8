"""The support lookup, under /staff/support/."""

from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("", views.lookup, name="lookup"),
]
