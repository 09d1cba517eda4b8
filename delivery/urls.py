"""Pages of delivery: a person's inbox and conversations, a bank's delivery health, staff's queue and dead letters."""

from django.urls import path

from . import views
from .chat import views as chat

app_name = "delivery"

urlpatterns = [
    path("me/inbox/", views.inbox, name="inbox"),
    path("me/inbox/new/", views.inbox_poll, name="inbox-poll"),
    path("me/inbox/read/", views.inbox_read, name="inbox-read"),
    path("me/inbox/alerts/<int:pk>/answer/", chat.fraud_alert_answer, name="fraud-alert-answer"),
    path("me/chat/<slug:slug>/", chat.conversation, name="conversation"),
    path("me/chat/<slug:slug>/send/", chat.conversation_send, name="conversation-send"),
    path("me/chat/<slug:slug>/new/", chat.conversation_poll, name="conversation-poll"),
    path("me/chat/<slug:slug>/allow/", chat.conversation_allow, name="conversation-allow"),
    path("me/chat/<slug:slug>/end/", chat.conversation_end, name="conversation-end"),
    path("bank/<slug:slug>/deliveries/", views.bank_deliveries, name="bank-deliveries"),
    path("bank/<slug:slug>/deliveries/replay/", views.bank_replay, name="bank-replay"),
    path("staff/deliveries/", views.staff_deliveries, name="staff-deliveries"),
    path("staff/deliveries/replay/", views.staff_replay, name="staff-replay"),
]
