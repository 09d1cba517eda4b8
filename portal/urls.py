"""The portal's URL map: site pages, each app's pages, the partner API and its schema."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views
from .favicon import favicon
from .sessions.views import LoginView

api_v1 = [
    path("", include("partners.api.urls")),
    path("", include("consent.api.urls")),
    path("", include("delivery.api.urls")),
]

urlpatterns = [
    path("", views.site_index, name="site-index"),
    path("home/", views.home, name="home"),
    path("accounts/sign-up/", views.sign_up, name="sign-up"),
    path("accounts/sign-up/sent/", views.sign_up_sent, name="sign-up-sent"),
    path("accounts/sign-up/confirm/<uidb64>/<token>/", views.sign_up_confirm, name="sign-up-confirm"),
    # Reset requests: counted by the lockout, and a bounded number of emails per address.
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    # Django's own views for these two save the password without an audit entry; these go through the service.
    # Sign-in: under the lockout, the password's length bounded, and "keep me signed in" recorded
    # (portal/sessions/policy.py decides who may be kept).
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("portal.second_factor.urls")),
    path("accounts/", include("portal.sessions.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("partners.urls")),
    path("", include("delivery.urls")),
    path("me/data/", include("compliance.my_data_urls")),
    path("", include("compliance.bank_urls")),
    path("me/", include("consent.urls")),
    path("compliance/", include("compliance.urls")),
    path("staff/support/", include("portal.support.urls")),
    path("", include("compliance.bank_reports_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
