"""Reads of executions, scoped to what a user may see, and the API's run-data shape."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from executions.choices import ExecutionMode, PauseStatus, PauseType
from executions.models import Execution, ExecutionPause, NodeRun
from executions.policies import approval_visibility
from executions.resume_urls import resume_url
from workflows.errors import InvalidInput


def executions_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Execution]:
    """Staff see every execution; others only those of their own workflows. Pruned ones are gone."""
    qs = Execution.objects.select_related("workflow").filter(deleted_at__isnull=True)
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


def stored_rows(execution: Execution, names: Collection[str] | None = None) -> list[NodeRun]:
    """The node runs of ``execution`` (of ``names`` only, when given) in execution order.

    The runs a partial run reuses are read from the executions holding them
    (``Execution.reused_runs``) and carry ``reused_from`` = that execution's id; the
    execution's own runs carry ``reused_from = None``.
    """
    own = NodeRun.objects.filter(execution_id=execution.pk)
    if names is not None:
        own = own.filter(node_name__in=list(names))
    rows = list(own)
    for row in rows:
        row.reused_from = None  # type: ignore[attr-defined]
    ran = {row.node_name for row in rows}
    for origin, node_names in _reused_by_origin(execution, names, ran).items():
        for row in NodeRun.objects.filter(execution_id=origin, node_name__in=node_names):
            row.reused_from = origin  # type: ignore[attr-defined]
            rows.append(row)
    rows.sort(key=lambda row: (row.execution_index, row.run_index))
    return rows


def _reused_by_origin(
    execution: Execution, names: Collection[str] | None, ran: Collection[str] = ()
) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = defaultdict(list)
    for name, origin in (execution.reused_runs or {}).items():
        if (names is None or name in names) and name not in ran:
            groups[int(origin)].append(name)
    return groups


def run_index(execution: Execution) -> tuple[dict[str, list[tuple[int, int, str, bool]]], dict[str, int]]:
    """Every stored run of ``execution`` without its items, and where each node's runs are stored.

    Returns ``(runs, origins)``: node → ``(run_index, execution_index, status, has_output)`` per
    run, and node → id of the execution whose rows hold them (itself, or what it reused).
    """
    has_output = ExpressionWrapper(Q(output__isnull=False), output_field=BooleanField())
    fields = ("node_name", "run_index", "execution_index", "status", "has_output")
    runs: dict[str, list[tuple[int, int, str, bool]]] = defaultdict(list)
    origins: dict[str, int] = {}
    groups = {execution.pk: None, **_reused_by_origin(execution, None)}
    for origin, names in groups.items():
        qs = NodeRun.objects.filter(execution_id=origin)
        if names is not None:
            qs = qs.filter(node_name__in=names)
        for name, run, index, status, output in qs.annotate(has_output=has_output).values_list(*fields):
            if origins.setdefault(name, origin) == origin:
                runs[name].append((run, index, status, bool(output)))
    for entries in runs.values():
        entries.sort()
    return dict(runs), origins


def pinned_runs(execution: Execution) -> dict[str, list[int]]:
    """Node → the pin ids its last stored run (own or reused) was given, for the runs that were pinned."""
    pins: dict[str, list[int]] = {}
    groups = {execution.pk: None, **_reused_by_origin(execution, None)}
    for origin, names in groups.items():
        qs = NodeRun.objects.filter(execution_id=origin, metadata__pinned=True)
        if names is not None:
            qs = qs.filter(node_name__in=names)
        elif execution.reused_runs:
            qs = qs.exclude(node_name__in=list(execution.reused_runs))
        for name, metadata in qs.order_by("execution_index").values_list("node_name", "metadata"):
            pins[name] = sorted(int(pin) for pin in (metadata or {}).get("pin_ids") or [])
    return pins


def retry_chain(execution: Execution, limit: int = 50) -> list[Execution]:
    """The original of ``execution`` and every retry after it (oldest first; one branch per retry)."""
    chain = [execution]
    while chain[0].retry_of_id is not None and len(chain) < limit:
        parent = Execution.objects.filter(pk=chain[0].retry_of_id).first()
        if parent is None:
            break
        chain.insert(0, parent)
    while len(chain) < limit:
        after = Execution.objects.filter(retry_of=chain[-1]).order_by("id").first()
        if after is None:
            break
        chain.append(after)
    return chain


def run_data_of(execution: Execution) -> dict[str, list[dict[str, Any]]]:
    """``run_data`` as API.md shapes it: node name → runs in execution order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in stored_rows(execution):
        out.setdefault(row.node_name, []).append(
            {
                "run_index": row.run_index,
                "execution_index": row.execution_index,
                "status": row.status,
                "start_time": row.started_at.isoformat(),
                "execution_time_ms": round(row.execution_time_ms, 3),
                "source": row.source,
                "data": {"main": row.output or []},
                "error": row.error,
                "pinned": bool((row.metadata or {}).get("pinned")),
                "reused_from": row.reused_from,  # type: ignore[attr-defined]
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
        row = next((r for r in stored_rows(pause.execution, [node]) if r.run_index == run), None)
        output = (row.output if row else None) or []
        items = output[out] if out < len(output) else []
    return [item.get("json") for item in items[:limit]]


def node_output(execution: Execution, node_name: str, run_index: int | None = None) -> list[Any] | None:
    """A node's stored output (one item list per output) in an execution; its last run by default."""
    runs = [row for row in stored_rows(execution, [node_name]) if row.status == "success"]
    if run_index is not None:
        runs = [row for row in runs if row.run_index == run_index]
    return runs[-1].output if runs else None


def execution_visible(user: AbstractBaseUser | AnonymousUser, execution_id: int) -> Execution | None:
    """The execution if ``user`` may see it (else ``None``: callers answer 404)."""
    if not user.is_authenticated:
        return None
    return executions_visible_to(user).filter(pk=execution_id).first()


def execution_children(user: AbstractBaseUser | AnonymousUser, execution: Execution) -> QuerySet[Execution]:
    """The sub-workflow (``integrated``) executions ``execution`` called that ``user`` may see, in order.

    A partial run also links to the execution it reused (``parent_execution``) but is no child.
    """
    return (
        executions_visible_to(user)
        .filter(parent_execution_id=execution.pk, mode=ExecutionMode.INTEGRATED)
        .select_related("subworkflow_call")
        .order_by("id")
    )
