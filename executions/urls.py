"""Browser pages of executions (the API lives in ``executions.api``)."""

from django.urls import path

from executions.views import execution_live

urlpatterns = [
    path("<int:pk>/live/", execution_live, name="execution-live"),
]
