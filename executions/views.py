"""The live execution page: a template and one script (``static/executions/live.js``).

The page draws the execution from the progress snapshot and follows it over the progress
websocket; approve and reject call the API. This view only checks who may see the execution
and hands the page what it needs to start.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from executions.choices import ExecutionStatus, PauseType
from executions.models import Execution
from executions.policies import can_decide
from executions.selectors import execution_visible, pause_for_decision, pause_public


def _nodes(execution: Execution) -> list[dict[str, str]]:
    """The workflow's nodes, left to right then top to bottom, as the editor draws them."""
    nodes = [n for n in (execution.workflow_snapshot or {}).get("nodes") or [] if isinstance(n, dict) and n.get("name")]

    def position(node: dict[str, Any]) -> tuple[float, float]:
        pos = node.get("position") or [0, 0]
        try:
            return float(pos[0]), float(pos[1])
        except (TypeError, ValueError, IndexError):
            return 0.0, 0.0

    return [
        {"name": str(n["name"]), "type": str(n.get("type") or "").removeprefix("n8n-nodes-base.")}
        for n in sorted(nodes, key=position)
    ]


def _api(name: str, pk: int) -> str:
    # The router's optional slash reverses to none; API.md writes the paths with one.
    return reverse(name, args=[pk]).rstrip("/") + "/"


def _pause(request: HttpRequest, execution: Execution) -> dict[str, Any] | None:
    if execution.status != ExecutionStatus.WAITING:
        return None
    pause = pause_for_decision(execution)
    if pause is None:
        return None
    public = pause_public(pause, execution)
    return {
        "type": public["type"],
        "node": public["node"],
        "message": public["message"],
        "can_decide": pause.pause_type == PauseType.APPROVAL and can_decide(request.user, execution, pause),
    }


@login_required
@ensure_csrf_cookie
def execution_live(request: HttpRequest, pk: int) -> HttpResponse:
    """``/executions/{id}/live/``: 404 for users who may not see the execution."""
    execution = execution_visible(request.user, pk)
    if execution is None:
        raise Http404("No execution matches the given query.")
    config = {
        "execution_id": execution.pk,
        "nodes": _nodes(execution),
        "pause": _pause(request, execution),
        "detail_url": _api("execution-detail", execution.pk),
        "progress_url": _api("execution-progress", execution.pk),
        "approve_url": _api("execution-approve", execution.pk),
        "reject_url": _api("execution-reject", execution.pk),
        "ws_path": f"/ws/executions/{execution.pk}/progress/",
    }
    context = {
        "execution": execution,
        "config": config,
        "api_url": config["detail_url"],
        "admin_url": reverse("admin:executions_execution_change", args=[execution.pk])
        if request.user.is_staff
        else None,
    }
    return render(request, "executions/live.html", context)
