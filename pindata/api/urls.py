from django.urls import re_path

from pindata.api import views

urlpatterns = [
    re_path(r"^workflows/import/?$", views.ImportView.as_view(), name="workflow-import"),
    re_path(r"^workflows/(?P<pk>\d+)/export/?$", views.ExportView.as_view(), name="workflow-export"),
    re_path(r"^workflows/(?P<pk>\d+)/pin-data/?$", views.WorkflowPinsView.as_view(), name="workflow-pins"),
    re_path(
        r"^workflows/(?P<pk>\d+)/nodes/(?P<node_name>.+)/pin-data/?$", views.NodePinView.as_view(), name="node-pin"
    ),
    re_path(
        r"^executions/(?P<pk>\d+)/nodes/(?P<node_name>.+)/pin/?$",
        views.PinFromExecutionView.as_view(),
        name="execution-node-pin",
    ),
]
