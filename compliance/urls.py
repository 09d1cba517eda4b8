"""Pages of the compliance app."""

from django.urls import path

from .views import reports, reviews, trail

app_name = "compliance"

urlpatterns = [
    path("", trail.home, name="home"),
    path("verify/", trail.verify, name="verify"),
    path("scopes/", reviews.scope_reviews, name="scope-reviews"),
    path("grant-changes/", reviews.grant_changes, name="grant-changes"),
    path("reports/", reports.index, name="reports"),
    path("reports/attestations-overdue/chase/", reports.chase, name="report-chase"),
    path("reports/<slug:slug>/", reports.report, name="report"),
    path("reports/<slug:slug>/csv/", reports.report_download, name="report-csv"),
]
