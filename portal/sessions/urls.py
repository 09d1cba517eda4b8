"""Routes of the sessions page: the list, signing out everywhere else, and signing out one session."""

from django.urls import path

from . import views

app_name = "sessions"

urlpatterns = [
    path("sessions/", views.session_list, name="list"),
    path("sessions/sign-out-others/", views.end_others, name="end-others"),
    path("sessions/<int:pk>/sign-out/", views.end_one, name="end"),
]
