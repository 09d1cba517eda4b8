"""Pages of the consent app, under /me/, and the bank simulator's pages."""

from django.urls import path

from . import simulator, views

app_name = "consent"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("banks/", views.banks, name="banks"),
    path("banks/<slug:slug>/link/", views.link_start, name="link-start"),
    path("link/callback/", views.link_callback, name="link-callback"),
    path("links/<int:link_id>/consent/", views.consent_screen, name="consent-screen"),
    path("banks/<slug:slug>/withdraw-all/", views.bank_revoke_all, name="bank-revoke-all"),
    path("links/<int:link_id>/unlink/", views.link_unlink, name="link-unlink"),
    path("withdraw-everything/", views.revoke_everything, name="revoke-everything"),
    path("undo/", views.undo_withdrawal, name="undo-withdrawal"),
    path("permissions/<int:grant_id>/", views.grant_detail, name="grant-detail"),
    path("permissions/<int:grant_id>/withdraw/", views.grant_revoke, name="grant-revoke"),
    path("permissions/<int:grant_id>/renew/", views.grant_renew, name="grant-renew"),
    path("permissions/<int:grant_id>/messages/", views.grant_narrow, name="grant-narrow"),
    path("receipts/<uuid:public_id>/", views.receipt, name="receipt"),
    path("receipts/<uuid:public_id>/download/", views.receipt_download, name="receipt-download"),
    path("history/", views.history, name="history"),
    # The built-in bank simulator (404 unless PORTAL_DEMO_FEATURES is on).
    path("simulator/<slug:slug>/authorize/", simulator.simulator_authorize, name="simulator-authorize"),
    path("simulator/<slug:slug>/token/", simulator.simulator_token, name="simulator-token"),
]
