from django.urls import path
from rest_framework.routers import SimpleRouter

from executions.api.views import ExecutionViewSet, WorkflowExecuteView

router = SimpleRouter(trailing_slash="/?")
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    path("workflows/<int:pk>/execute", WorkflowExecuteView.as_view(), name="workflow-execute"),
    path("workflows/<int:pk>/execute/", WorkflowExecuteView.as_view()),
    *router.urls,
]
