from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from budflow_site import health
from executions import webhooks

urlpatterns = [
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^healthz/ready/?$", health.healthz_ready, name="healthz-ready"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("executions/", include("executions.urls")),
    # One route with an optional slash, so the schema lists one operation.
    re_path(r"^api/auth/token/?$", obtain_auth_token, name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # API.md: paths accept an optional trailing slash.
    re_path(r"^api/schema$", SpectacularAPIView.as_view()),
    re_path(r"^api/docs$", SpectacularSwaggerView.as_view(url_name="api-schema")),
    # Before the workflow routes: `/api/workflows/import/` is not a workflow id.
    path("api/", include("pindata.api.urls")),
    path("api/", include("executions.api.urls")),
    path("api/", include("workflows.api.urls")),
    path("webhook/<path:path>", webhooks.webhook, name="webhook"),
    path("webhook-test/<path:path>", webhooks.webhook_test, name="webhook-test"),
    path("webhook-waiting/<str:token>", webhooks.webhook_waiting, name="webhook-waiting"),
]
