"""Pages of the compliance app."""

from django.urls import path

from .views import data_requests, reports, reviews, trail

app_name = "compliance"

urlpatterns = [
    path("", trail.home, name="home"),
    path("export/", trail.export, name="export"),
    path("entries/<int:pk>/", trail.entry, name="entry"),
    path("verify/", trail.verify, name="verify"),
    path("verify/<int:pk>/", trail.verification, name="verification"),
    path("verify/<int:pk>/status/", trail.verification_status, name="verification-status"),
    path("scopes/", reviews.scope_reviews, name="scope-reviews"),
    path("grant-changes/", reviews.grant_changes, name="grant-changes"),
    path("data-requests/", data_requests.data_requests, name="data-requests"),
    path("data-requests/<int:pk>/", data_requests.data_request, name="data-request"),
    path("data-requests/<int:pk>/status/", data_requests.data_request_status, name="data-request-status"),
    path("data-requests/<int:pk>/download/", data_requests.data_request_download_view, name="data-request-download"),
    path("data-requests/<int:pk>/erase/", data_requests.data_request_erase, name="data-request-erase"),
    path("reports/", reports.index, name="reports"),
    path("reports/attestations-overdue/chase/", reports.chase, name="report-chase"),
    path("reports/<slug:slug>/", reports.report, name="report"),
    path("reports/<slug:slug>/csv/", reports.report_download, name="report-csv"),
]
