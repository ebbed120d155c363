"""Pin data endpoints, and n8n import/export (which carries ``pinData``)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from executions.selectors import executions_visible_to, node_output
from pindata.api.serializers import PinFromExecutionSerializer, PinRequestSerializer, PinSerializer
from pindata.selectors import pins_visible_to
from pindata.services import n8n_import, pin_delete, pin_set, pins_export
from workflows.api.serializers import WorkflowSerializer
from workflows.errors import InvalidInput
from workflows.interchange import workflow_export
from workflows.models import Workflow
from workflows.selectors import workflows_visible_to


def _workflow(request: Request, pk: int) -> Workflow:
    return get_object_or_404(workflows_visible_to(request.user), pk=pk)


class NodePinView(APIView):
    """``/api/workflows/{id}/nodes/{node_name}/pin-data/``: pin, read or unpin a node's output."""

    @extend_schema(request=PinRequestSerializer, responses={201: PinSerializer})
    def post(self, request: Request, pk: int, node_name: str) -> Response:
        workflow = _workflow(request, pk)
        body = PinRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        pin = pin_set(
            workflow=workflow,
            node_name=node_name,
            data=data["data"],
            user=request.user,
            data_type=data["data_type"],
            expires_in_hours=data.get("expires_in_hours"),
            output_index=data["output_index"],
            mask=data["mask_sensitive"],
        )
        return Response(PinSerializer(pin).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: PinSerializer})
    def get(self, request: Request, pk: int, node_name: str) -> Response:
        workflow = _workflow(request, pk)
        pin = get_object_or_404(
            pins_visible_to(request.user).order_by("output_index"),
            workflow=workflow,
            node_name=node_name,
            output_index=int(request.query_params.get("output_index", 0)),
        )
        return Response(PinSerializer(pin).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, node_name: str) -> Response:
        pin_delete(workflow=_workflow(request, pk), node_name=node_name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowPinsView(APIView):
    """``GET /api/workflows/{id}/pin-data/``: the workflow's active pins."""

    @extend_schema(responses={200: PinSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        workflow = _workflow(request, pk)
        pins = pins_visible_to(request.user).filter(workflow=workflow)
        return Response(PinSerializer(pins, many=True).data)


class PinFromExecutionView(APIView):
    """``POST /api/executions/{id}/nodes/{node_name}/pin/``: pin what the node output in that run."""

    @extend_schema(request=PinFromExecutionSerializer, responses={201: PinSerializer})
    def post(self, request: Request, pk: int, node_name: str) -> Response:
        execution = get_object_or_404(executions_visible_to(request.user), pk=pk)
        body = PinFromExecutionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        output = node_output(execution, node_name, data.get("run_index"))
        if output is None:
            raise InvalidInput(f"node {node_name!r} has no stored output in execution {pk}", field="node_name")
        index = data["output_index"]
        if index >= len(output):
            raise InvalidInput(f"node {node_name!r} has no output {index}", field="output_index")
        workflow = _workflow(request, execution.workflow_id)
        pin = pin_set(
            workflow=workflow,
            node_name=node_name,
            data=output[index],
            user=request.user,
            data_type=data["data_type"],
            expires_in_hours=data.get("expires_in_hours"),
            output_index=index,
            mask=data["mask_sensitive"],
        )
        return Response(PinSerializer(pin).data, status=status.HTTP_201_CREATED)


class ImportView(APIView):
    """``POST /api/workflows/import/``: an n8n workflow JSON, with its ``pinData``."""

    @extend_schema(request={"application/json": dict}, responses={201: WorkflowSerializer})
    def post(self, request: Request) -> Response:
        workflow = n8n_import(owner=request.user, data=request.data)
        return Response(WorkflowSerializer(workflow).data, status=status.HTTP_201_CREATED)


class ExportView(APIView):
    """``GET /api/workflows/{id}/export/``: n8n workflow JSON, with ``pinData``."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        workflow = _workflow(request, pk)
        return Response(workflow_export(workflow=workflow, pin_data=pins_export(workflow=workflow)))
