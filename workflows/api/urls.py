from workflows.api.routers import OptionalSlashRouter
from workflows.api.views import WorkflowViewSet

router = OptionalSlashRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")

urlpatterns = router.urls
