"""A bank's own figures and reports, under its pages (/bank/<slug>/figures/, /bank/<slug>/reports/)."""

from django.urls import path

from .views import bank_reports

app_name = "bank_reports"

urlpatterns = [
    path("bank/<slug:slug>/figures/", bank_reports.figures, name="figures"),
    path("bank/<slug:slug>/figures/csv/", bank_reports.figures_download, name="figures-csv"),
    path("bank/<slug:slug>/reports/", bank_reports.index, name="index"),
    path("bank/<slug:slug>/reports/<slug:report>/", bank_reports.report, name="report"),
    path("bank/<slug:slug>/reports/<slug:report>/csv/", bank_reports.report_download, name="report-csv"),
]
