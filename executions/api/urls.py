from django.urls import re_path

from executions.api.views import ExecutionViewSet, WorkflowExecuteView
from workflows.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    # One route with an optional slash (as the routers use), so the schema lists one operation.
    re_path(r"^workflows/(?P<pk>[0-9]+)/execute/?$", WorkflowExecuteView.as_view(), name="workflow-execute"),
    *router.urls,
]
