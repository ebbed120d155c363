from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from executions.api.serializers import (
    ExecuteRequestSerializer,
    ExecutionDetailSerializer,
    ExecutionListSerializer,
)
from executions.choices import TERMINAL, ExecutionStatus
from executions.models import Execution
from executions.selectors import execution_filter, executions_visible_to
from executions.services import execution_create, execution_delete, execution_stop
from workflows.selectors import workflows_visible_to


def wait_for_settled(execution: Execution, timeout: float) -> Execution:
    """Poll until the execution is final or waiting, or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        execution.refresh_from_db()
        if execution.status in TERMINAL or execution.status == ExecutionStatus.WAITING:
            return execution
        if time.monotonic() >= deadline:
            return execution
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


class WorkflowExecuteView(APIView):
    """``POST /api/workflows/{id}/execute/``: start a run of the workflow."""

    @extend_schema(request=ExecuteRequestSerializer, responses={201: ExecutionDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        workflow = get_object_or_404(workflows_visible_to(request.user), pk=pk)
        body = ExecuteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        execution = execution_create(
            workflow=workflow,
            user=request.user,
            mode=data["mode"],
            trigger_node=data.get("trigger_node") or None,
            input_data=data.get("input_data"),
            destination_node=data.get("destination_node") or None,
            destination_mode=data.get("destination_mode"),
        )
        if data["wait_till_completion"]:
            execution = wait_for_settled(execution, settings.BUDFLOW["WAIT_TILL_COMPLETION_SECONDS"])
        execution = Execution.objects.select_related("workflow").get(pk=execution.pk)
        return Response(ExecutionDetailSerializer(execution).data, status=status.HTTP_201_CREATED)


class ExecutionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Executions of the caller's workflows (staff: all), newest first."""

    def get_queryset(self) -> QuerySet[Execution]:
        qs = executions_visible_to(self.request.user)
        if self.action == "list":
            qs = execution_filter(qs, self.request.query_params)
        return qs.order_by("-id")

    def get_serializer_class(self) -> Any:
        return ExecutionListSerializer if self.action == "list" else ExecutionDetailSerializer

    def perform_destroy(self, instance: Execution) -> None:
        execution_delete(execution=instance)

    @extend_schema(request=None, responses={200: ExecutionDetailSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        execution = execution_stop(execution=self.get_object())
        return Response(ExecutionDetailSerializer(execution).data)
