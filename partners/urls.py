"""Pages of the partners app: the bank's own pages and the staff review queue."""

from django.urls import path

from . import views

app_name = "partners"

urlpatterns = [
    path("bank/", views.home, name="home"),
    path("bank/<slug:slug>/", views.detail, name="detail"),
    path("staff/banks/", views.staff_home, name="staff-home"),
]
