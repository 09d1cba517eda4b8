"""Pages of delivery: a person's inbox, a bank's delivery health, staff's queue and dead letters."""

from django.urls import path

from . import views

app_name = "delivery"

urlpatterns = [
    path("me/inbox/", views.inbox, name="inbox"),
    path("me/inbox/new/", views.inbox_poll, name="inbox-poll"),
    path("me/inbox/read/", views.inbox_read, name="inbox-read"),
    path("bank/<slug:slug>/deliveries/", views.bank_deliveries, name="bank-deliveries"),
    path("bank/<slug:slug>/deliveries/replay/", views.bank_replay, name="bank-replay"),
    path("staff/deliveries/", views.staff_deliveries, name="staff-deliveries"),
    path("staff/deliveries/replay/", views.staff_replay, name="staff-replay"),
]
