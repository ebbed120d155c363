from workflows.api.routers import OptionalSlashRouter
from workflows.api.variables import VariableViewSet
from workflows.api.views import WorkflowViewSet

router = OptionalSlashRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("variables", VariableViewSet, basename="variable")

urlpatterns = router.urls
