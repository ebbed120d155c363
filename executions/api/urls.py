from django.urls import re_path

from executions.api.views import (
    ExecutionViewSet,
    WorkflowExecuteView,
    WorkflowPartialExecuteView,
    WorkflowStepExecuteView,
    progress_stream,
)
from workflows.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    # One route with an optional slash (as the routers use), so the schema lists one operation.
    re_path(r"^workflows/(?P<pk>[0-9]+)/execute/?$", WorkflowExecuteView.as_view(), name="workflow-execute"),
    re_path(
        r"^workflows/(?P<pk>[0-9]+)/execute/partial/?$",
        WorkflowPartialExecuteView.as_view(),
        name="workflow-execute-partial",
    ),
    re_path(
        r"^workflows/(?P<pk>[0-9]+)/nodes/(?P<node_name>.+)/execute/?$",
        WorkflowStepExecuteView.as_view(),
        name="workflow-node-execute",
    ),
    # An async Django view (SSE), before the router's execution routes.
    re_path(r"^executions/(?P<pk>[0-9]{1,18})/progress/stream/?$", progress_stream, name="execution-progress-stream"),
    *router.urls,
]
