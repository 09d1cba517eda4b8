"""Routes of the second factor: the code page, setting up an app, recovery codes and the security page."""

from django.urls import path

from . import views

app_name = "second_factor"

urlpatterns = [
    path("second-factor/", views.verify, name="verify"),
    path("second-factor/set-up/", views.set_up, name="set-up"),
    path("second-factor/recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("security/", views.security, name="security"),
    path("security/recovery-codes/", views.regenerate, name="regenerate"),
    path("security/remove/", views.remove, name="remove"),
]
