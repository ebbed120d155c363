"""Reads of executions, scoped to what a user may see, and the API's run-data shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from executions.choices import PauseStatus, PauseType
from executions.models import Execution, ExecutionPause, NodeRun
from executions.policies import approval_visibility
from executions.resume_urls import resume_url
from workflows.errors import InvalidInput


def executions_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Execution]:
    """Staff see every execution; others only those of their own workflows."""
    qs = Execution.objects.select_related("workflow")
    if getattr(user, "is_staff", False):
        return qs
    approvals = approval_visibility(user)
    if approvals == Q(pk__in=[]):
        return qs.filter(workflow__owner_id=user.pk)
    visible = Execution.objects.filter(Q(workflow__owner_id=user.pk) | approvals).values("pk")
    return qs.filter(pk__in=visible)


def execution_filter(qs: QuerySet[Execution], params: Mapping[str, str]) -> QuerySet[Execution]:
    """List filters: ``workflow``, ``status``, ``mode``, ``parent_execution``, ``custom_data__<key>``."""
    for name in ("workflow", "parent_execution"):
        value = params.get(name)
        if value:
            if not value.isascii() or not value.isdigit():
                raise InvalidInput(f"must be an id (a whole number), got {value!r}", field=name)
            # Beyond a 64-bit id nothing matches (and SQLite refuses to bind the number).
            qs = qs.filter(**{f"{name}_id": int(value)}) if int(value) < 2**63 else qs.none()
    for name in ("status", "mode"):
        value = params.get(name)
        if value:
            qs = qs.filter(**{f"{name}__in": value.split(",")})
    for n, (key, value) in enumerate(params.items()):
        if key.startswith("custom_data__") and len(key) > len("custom_data__"):
            path = key[len("custom_data__") :].split("__")
            if not all(path):
                raise InvalidInput("custom data keys must not be empty", field=key)
            # Every part is a key, never an ORM lookup: ``custom_data__a__regex=(`` must not
            # reach the database as a regular expression.
            expr: Any = F("custom_data")
            for part in path:
                expr = KeyTransform(part, expr)
            qs = qs.alias(**{f"_custom_data_{n}": expr}).filter(**{f"_custom_data_{n}": value})
    return qs


def run_data_of(execution: Execution) -> dict[str, list[dict[str, Any]]]:
    """``run_data`` as API.md shapes it: node name → runs in execution order."""
    rows = NodeRun.objects.filter(execution_id=execution.pk).select_related("reused_from").order_by("execution_index")
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        output = row.reused_from.output if row.reused_from_id and row.reused_from else row.output
        out.setdefault(row.node_name, []).append(
            {
                "run_index": row.run_index,
                "execution_index": row.execution_index,
                "status": row.status,
                "start_time": row.started_at.isoformat(),
                "execution_time_ms": round(row.execution_time_ms, 3),
                "source": row.source,
                "data": {"main": output or []},
                "error": row.error,
                "pinned": bool((row.metadata or {}).get("pinned")),
                "reused_from": row.reused_from.execution_id if row.reused_from_id and row.reused_from else None,
                "metadata": row.metadata,
            }
        )
    return out


def pause_for_decision(execution: Execution) -> ExecutionPause | None:
    return ExecutionPause.objects.filter(execution=execution, status=PauseStatus.WAITING).order_by("-sequence").first()


def pause_public(pause: ExecutionPause, execution: Execution) -> dict[str, Any]:
    """The ``pause`` block of the execution detail."""
    meta = pause.metadata or {}
    data = {
        "type": pause.pause_type,
        "node": pause.node_name,
        "sequence": pause.sequence,
        "message": meta.get("message") or "",
        "expires_at": pause.expires_at,
        "due_at": pause.due_at,
        "waiting_since": pause.created_at,
        "approvers": meta.get("approvers") or [],
    }
    if pause.pause_type == PauseType.MANUAL and meta.get("input_schema"):
        data["input_schema"] = meta["input_schema"]
    if pause.pause_type in (PauseType.WEBHOOK, PauseType.FORM):
        data["resume_url"] = resume_url(execution, pause.sequence)
    return data


def paused_items(pause: ExecutionPause, limit: int = 50) -> list[Any]:
    """The items waiting at a paused node (its first input), read from the stored outputs they refer to."""
    stack = (pause.execution.state or {}).get("stack") or []
    if not stack:
        return []
    first = (stack[-1].get("inputs") or [None])[0]
    if not first:
        return []
    if "items" in first:
        items = first["items"]
    else:
        node, run, out = first["$ref"]
        row = (
            NodeRun.objects.filter(execution_id=pause.execution_id, node_name=node, run_index=run)
            .select_related("reused_from")
            .first()
        )
        output = (row.reused_from.output if row and row.reused_from else row.output if row else None) or []
        items = output[out] if out < len(output) else []
    return [item.get("json") for item in items[:limit]]


def node_output(execution: Execution, node_name: str, run_index: int | None = None) -> list[Any] | None:
    """A node's stored output (one item list per output) in an execution; its last run by default."""
    qs = NodeRun.objects.filter(execution=execution, node_name=node_name, status="success").select_related(
        "reused_from"
    )
    row = qs.filter(run_index=run_index).first() if run_index is not None else qs.order_by("-run_index").first()
    if row is None:
        return None
    return row.reused_from.output if row.reused_from else row.output


def execution_visible(user: AbstractBaseUser | AnonymousUser, execution_id: int) -> Execution | None:
    """The execution if ``user`` may see it (else ``None``: callers answer 404)."""
    if not user.is_authenticated:
        return None
    return executions_visible_to(user).filter(pk=execution_id).first()
