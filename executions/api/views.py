from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from executions.api.serializers import (
    ChildExecutionSerializer,
    DecisionRequestSerializer,
    ExecuteRequestSerializer,
    ExecutionDetailSerializer,
    ExecutionListSerializer,
    PartialExecuteRequestSerializer,
    ResumeRequestSerializer,
    RetryRequestSerializer,
    StepExecuteRequestSerializer,
)
from executions.choices import TERMINAL, ExecutionStatus
from executions.models import Execution
from executions.policies import can_decide, can_manage
from executions.progress import event_stream, execution_progress, snapshot_message
from executions.selectors import (
    execution_children,
    execution_filter,
    execution_visible,
    executions_visible_to,
    pause_for_decision,
)
from executions.services import execution_create, execution_delete, execution_stop
from executions.services.partial import execution_create_partial, execution_create_step
from executions.services.pauses import pause_approve, pause_reject, pause_resume
from executions.services.retries import execution_retry
from workflows.errors import Conflict
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
        return _created(execution, data["wait_till_completion"])


class WorkflowPartialExecuteView(APIView):
    """``POST /api/workflows/{id}/execute/partial/``: re-run part of the workflow, reusing stored runs."""

    @extend_schema(request=PartialExecuteRequestSerializer, responses={201: ExecutionDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        workflow = get_object_or_404(workflows_visible_to(request.user), pk=pk)
        body = PartialExecuteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        execution = execution_create_partial(
            workflow=workflow,
            user=request.user,
            start_node=data.get("start_node") or None,
            destination_node=data.get("destination_node") or None,
            destination_mode=data.get("destination_mode"),
            input_data=data.get("input_data"),
            previous_execution=_previous(request, data),
            dirty_nodes=data.get("dirty_nodes"),
        )
        return _created(execution, data["wait_till_completion"])


class WorkflowStepExecuteView(APIView):
    """``POST /api/workflows/{id}/nodes/{node_name}/execute/``: run that node only ("execute step")."""

    @extend_schema(request=StepExecuteRequestSerializer, responses={201: ExecutionDetailSerializer})
    def post(self, request: Request, pk: int, node_name: str) -> Response:
        workflow = get_object_or_404(workflows_visible_to(request.user), pk=pk)
        body = StepExecuteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        execution = execution_create_step(
            workflow=workflow,
            user=request.user,
            node_name=node_name,
            input_data=data.get("input_data"),
            previous_execution=_previous(request, data),
        )
        return _created(execution, data["wait_till_completion"])


def _previous(request: Request, data: dict[str, Any]) -> Execution | None:
    """``previous_execution_id`` among the executions the caller may see (else 404)."""
    if data.get("previous_execution_id") is None:
        return None
    return get_object_or_404(executions_visible_to(request.user), pk=data["previous_execution_id"])


def _created(execution: Execution, wait: bool) -> Response:
    if wait:
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
        self._require(can_manage(self.request.user, instance))
        execution_delete(execution=instance)

    @staticmethod
    def _require(allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied("You may see this execution but not change it.")

    def _detail(self, execution: Execution) -> Response:
        execution = Execution.objects.select_related("workflow").get(pk=execution.pk)
        return Response(ExecutionDetailSerializer(execution, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: ExecutionDetailSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        execution = self.get_object()
        self._require(can_manage(request.user, execution))
        return self._detail(execution_stop(execution=execution))

    @extend_schema(request=RetryRequestSerializer, responses={201: ExecutionDetailSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        execution = self.get_object()
        self._require(can_manage(request.user, execution))
        body = RetryRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        retry = execution_retry(
            execution=execution,
            user=request.user,
            start=data["start"],
            use_current_workflow=data["use_current_workflow"],
        )
        return _created(retry, data["wait_till_completion"])

    @extend_schema(request=ResumeRequestSerializer, responses={200: ExecutionDetailSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Resume a waiting execution (manual waits; owner and staff), ``data`` checked against ``inputSchema``."""
        execution = self.get_object()
        self._require(can_manage(request.user, execution))
        body = ResumeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._detail(
            pause_resume(
                execution=execution,
                user=request.user,
                data=body.validated_data.get("data"),
                node=body.validated_data.get("node") or None,
            )
        )

    @extend_schema(request=DecisionRequestSerializer, responses={200: ExecutionDetailSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve a waiting approval (owner, named approvers, `executions.approve_pause`, staff)."""
        execution = self.get_object()
        self._require_decider(execution)
        body = DecisionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._detail(
            pause_approve(
                execution=execution,
                user=request.user,
                data=body.validated_data.get("data"),
                comment=body.validated_data.get("comment", ""),
            )
        )

    @extend_schema(request=DecisionRequestSerializer, responses={200: ExecutionDetailSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject a waiting approval: the execution ends ``error``."""
        execution = self.get_object()
        self._require_decider(execution)
        body = DecisionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._detail(
            pause_reject(execution=execution, user=request.user, comment=body.validated_data.get("comment", ""))
        )

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: str | None = None) -> Response:
        """The progress snapshot (API.md, "Progress"), from stored node runs and events."""
        return Response(execution_progress(self.get_object()))

    @extend_schema(request=None, responses={200: ChildExecutionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def children(self, request: Request, pk: str | None = None) -> Response:
        """The sub-workflow (``integrated``) executions this one called, oldest first (paginated)."""
        children = execution_children(request.user, self.get_object())
        page = self.paginate_queryset(children)
        return self.get_paginated_response(ChildExecutionSerializer(page, many=True).data)

    def _require_decider(self, execution: Execution) -> None:
        pause = pause_for_decision(execution)
        if pause is None or execution.status != "waiting":
            raise Conflict(f"execution {execution.pk} is {execution.status}, not waiting for an approval")
        self._require(can_decide(self.request.user, execution, pause))


# Progress over Server-Sent Events: an async Django view (not DRF), served by daphne.
SSE_HEARTBEAT_SECONDS = 15.0


async def _stream_user(request: HttpRequest) -> Any:
    """``Authorization: Token <key>`` (as the API) or the session."""
    found = await sync_to_async(TokenAuthentication().authenticate)(request)  # type: ignore[arg-type]
    return found[0] if found else await request.auser()


def _sse(event: dict[str, Any]) -> str:
    data = json.dumps(event, separators=(",", ":"), default=str)
    return f"id: {event['sequence']}\nevent: {event['type']}\ndata: {data}\n\n"


async def _sse_body(first: dict[str, Any] | None, execution_id: int, after: int) -> AsyncIterator[str]:
    if first is not None:
        yield _sse(first)
    async for event in event_stream(execution_id, after, SSE_HEARTBEAT_SECONDS):
        yield ": heartbeat\n\n" if event is None else _sse(event)


async def progress_stream(request: HttpRequest, pk: int) -> HttpResponseBase:
    """``GET /api/executions/{id}/progress/stream/``: replay after ``Last-Event-ID``, then live.

    Without ``Last-Event-ID`` (header or ``?last_event_id=``) the stream opens with a ``snapshot``
    event whose id is its sequence, so a reconnecting ``EventSource`` resumes right after it.
    It ends after ``execution_finished``.
    """
    if request.method != "GET":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    try:
        user = await _stream_user(request)
    except AuthenticationFailed as exc:
        return JsonResponse({"detail": str(exc.detail)}, status=401)
    if not user.is_authenticated:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    execution = await sync_to_async(execution_visible)(user, int(pk))
    if execution is None:
        return JsonResponse({"detail": "No Execution matches the given query."}, status=404)
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    first: dict[str, Any] | None = None
    if raw is None:
        first = await sync_to_async(snapshot_message)(execution)
        after = int(first["sequence"])
    elif raw.isascii() and raw.isdigit() and len(raw) < 10:
        after = int(raw)
    else:
        return JsonResponse({"detail": "Last-Event-ID must be a sequence number."}, status=400)
    response = StreamingHttpResponse(_sse_body(first, execution.pk, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
