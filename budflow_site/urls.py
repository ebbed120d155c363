from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from executions import webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^api/auth/token/?$", obtain_auth_token, name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("executions.api.urls")),
    path("api/", include("workflows.api.urls")),
    path("webhook/<path:path>", webhooks.webhook, name="webhook"),
    path("webhook-test/<path:path>", webhooks.webhook_test, name="webhook-test"),
]
