"""Webhook calls: find the route, create the execution durably, then run it or hand it on."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from executions.choices import TERMINAL, ExecutionMode, ExecutionStatus
from executions.models import Execution, NodeRun, WebhookListener
from executions.queue import enqueue_execution
from executions.selectors import stored_rows
from executions.services.lifecycle import execution_create
from executions.services.worker import execution_run
from workflows.errors import NotFound, ServiceError
from workflows.models import WebhookRoute, Workflow

LISTEN_SECONDS = 120


class MethodNotAllowed(ServiceError):
    status = 405


@dataclass
class WebhookCall:
    """What the web layer extracted from the HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, Any]
    body: Any


@dataclass
class WebhookResponse:
    status: int
    body: Any
    headers: dict[str, str]
    kind: str = "json"  # json | text | empty


def _route_for(method: str, path: str) -> tuple[WebhookRoute, dict[str, str]]:
    path = path.strip("/")
    exact = list(WebhookRoute.objects.filter(path=path, is_dynamic=False).select_related("workflow"))
    for route in exact:
        if route.method == method:
            return route, {}
    segments = path.split("/")
    dynamic = WebhookRoute.objects.filter(is_dynamic=True, segments=len(segments)).select_related("workflow")
    other_method = bool(exact)
    for route in dynamic:
        params = _match(route.path.split("/"), segments)
        if params is None:
            continue
        if route.method == method:
            return route, params
        other_method = True
    if other_method:
        raise MethodNotAllowed(f"This webhook is not registered for {method} requests")
    raise NotFound(f'The requested webhook "{method} {path}" is not registered.')


def _match(pattern: list[str], segments: list[str]) -> dict[str, str] | None:
    params = {}
    for expected, actual in zip(pattern, segments, strict=True):
        if expected.startswith(":"):
            params[expected[1:]] = actual
        elif expected != actual:
            return None
    return params


def _node(workflow: Workflow | dict[str, Any], name: str) -> dict[str, Any]:
    nodes = workflow.nodes if isinstance(workflow, Workflow) else workflow["nodes"]
    return next(n for n in nodes if n["name"] == name)


def _item(call: WebhookCall, params: dict[str, str], url: str, mode: str) -> dict[str, Any]:
    return {
        "headers": call.headers,
        "params": params,
        "query": call.query,
        "body": call.body,
        "webhookUrl": url,
        "executionMode": mode,
    }


def webhook_receive(*, call: WebhookCall) -> WebhookResponse:
    """``/webhook/{path}`` of an active workflow: start a ``webhook`` execution and answer."""
    route, params = _route_for(call.method, call.path)
    workflow = route.workflow
    url = f"{settings.BUDFLOW_PUBLIC_URL}/webhook/{route.path}"
    execution = execution_create(
        workflow=workflow,
        user=None,
        mode=ExecutionMode.WEBHOOK,
        trigger_node=route.node_name,
        input_data=[{"json": _item(call, params, url, "production")}],
        defer_enqueue=True,
    )
    return _answer(execution, _node(workflow, route.node_name))


def webhook_test_receive(*, call: WebhookCall) -> WebhookResponse:
    """``/webhook-test/{path}``: the call a listening manual execution waits for."""
    path = call.path.strip("/")
    now = timezone.now()
    with transaction.atomic():
        listeners = list(WebhookListener.objects.select_for_update().filter(path=path, expires_at__gt=now))
        if not listeners:
            raise NotFound(
                f'The requested webhook "{call.method} {path}" is not registered for testing. '
                "Start a manual execution of the workflow first."
            )
        listener = next((x for x in listeners if x.method == call.method), None)
        if listener is None:
            raise MethodNotAllowed(f"This test webhook is not registered for {call.method} requests")
        execution = Execution.objects.select_for_update().get(pk=listener.execution_id)
        listener.delete()
        url = f"{settings.BUDFLOW_PUBLIC_URL}/webhook-test/{path}"
        state = dict(execution.state or {})
        stack = list(state.get("stack") or [])
        stack[0] = {
            **stack[0],
            "inputs": [{"items": [{"json": _item(call, {}, url, "test"), "pairedItem": {"item": 0}}]}],
        }
        state["stack"] = stack
        execution.state = state
        execution.enqueued_at = now
        execution.save(update_fields=["state", "enqueued_at"])
    return _answer(execution, _node(execution.workflow_snapshot, listener.node_name))


def webhook_listen(*, execution: Execution, node: dict[str, Any]) -> WebhookListener:
    """Register a manual execution as listening for one test call (must run in its transaction)."""
    from workflows.engine.nodes.webhook import webhook_method, webhook_path

    return WebhookListener.objects.create(
        execution=execution,
        node_name=node["name"],
        method=webhook_method(node),
        path=webhook_path(node),
        expires_at=timezone.now() + timedelta(seconds=LISTEN_SECONDS),
    )


def _answer(execution: Execution, node: dict[str, Any]) -> WebhookResponse:
    params = node.get("parameters") or {}
    mode = params.get("responseMode", "onReceived")
    code = int(params.get("responseCode", 200) or 200)
    if mode == "onReceived":
        enqueue_execution(execution.pk)
        return WebhookResponse(code, {"message": "Workflow was started", "executionId": execution.pk}, {})
    if settings.BUDFLOW["WEBHOOK_INLINE"]:
        # The row is committed first, so a crash of this web process is recovered by the sweeper.
        execution_run(execution_id=execution.pk)
    else:
        enqueue_execution(execution.pk)
    execution = _settle(execution)
    if execution.status not in TERMINAL:
        return WebhookResponse(
            202,
            {"message": "The workflow is still running", "executionId": execution.pk, "status": execution.status},
            {},
        )
    if mode == "responseNode":
        return _respond_node_answer(execution)
    if execution.status != ExecutionStatus.SUCCESS:
        return WebhookResponse(500, {"message": "Error in workflow", "executionId": execution.pk}, {})
    return _last_node_answer(execution, params, code)


def _settle(execution: Execution) -> Execution:
    deadline = time.monotonic() + settings.BUDFLOW["WEBHOOK_RESPONSE_TIMEOUT_SECONDS"]
    delay = 0.005
    while True:
        execution.refresh_from_db(fields=["status", "last_node_executed", "error"])
        if execution.status in TERMINAL or time.monotonic() >= deadline:
            return execution
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _last_node_answer(execution: Execution, params: dict[str, Any], code: int) -> WebhookResponse:
    runs = stored_rows(execution, [execution.last_node_executed])
    output = (runs[-1].output if runs else None) or []
    items = output[0] if output else []
    data = params.get("responseData", "firstEntryJson")
    if data == "noData":
        return WebhookResponse(code, None, {}, "empty")
    if data == "allEntries":
        return WebhookResponse(code, [item.get("json", {}) for item in items], {})
    return WebhookResponse(code, items[0].get("json", {}) if items else {}, {})


def _respond_node_answer(execution: Execution) -> WebhookResponse:
    for run in NodeRun.objects.filter(execution=execution).order_by("execution_index"):
        response = (run.metadata or {}).get("webhook_response")
        if response:
            kind = {"text": "text", "noData": "empty", "redirect": "empty"}.get(response.get("kind"), "json")
            return WebhookResponse(int(response["status"]), response.get("body"), response.get("headers") or {}, kind)
    if execution.status != ExecutionStatus.SUCCESS:
        return WebhookResponse(500, {"message": "Error in workflow", "executionId": execution.pk}, {})
    return WebhookResponse(500, {"message": "No Respond to Webhook node ran", "executionId": execution.pk}, {})
