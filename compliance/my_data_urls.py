"""A person's own data pages, under /me/data/."""

from django.urls import path

from .views import my_data

app_name = "my-data"

urlpatterns = [
    path("", my_data.my_data, name="home"),
    path("copy/", my_data.my_data_start, name="start"),
    path("copy/<int:pk>/", my_data.my_data_request, name="request"),
    path("copy/<int:pk>/status/", my_data.my_data_status, name="status"),
    path("copy/<int:pk>/download/", my_data.my_data_download, name="download"),
]
