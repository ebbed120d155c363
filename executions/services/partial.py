"""Partial executions: re-run what changed, reusing a previous execution's stored node runs.

API.md "execute/partial" is normative. The plan (which nodes run, where their inputs come from)
is :func:`workflows.engine.partial.plan_partial`; this module checks the request, plans from the
previous execution's stored runs, and stores the new execution with the reused runs kept as one
reference per node to the execution whose rows hold them (``Execution.reused_runs``): no row and
no copy of items per reused run. Planning reads a summary of the previous runs and fetches only
the outputs that feed what runs, so the cost follows the sub-graph that runs, not the workflow.
Everything is checked before anything is written: a refused request leaves no execution.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from executions.choices import ExecutionMode, RunKind
from executions.models import Execution, version_graph, version_snapshot
from executions.queue import enqueue_execution
from executions.selectors import pinned_runs
from executions.services.worker import reusable_runs
from pindata.selectors import active_pins
from workflows.engine.items import wrap_items
from workflows.engine.partial import PartialError, PartialPlan, config_changes, plan_partial
from workflows.engine.state import RunData
from workflows.errors import InvalidInput
from workflows.models import Workflow

MODE = ExecutionMode.MANUAL


def latest_previous(workflow: Workflow) -> Execution | None:
    """The workflow's latest execution that stored node runs (the default base of a partial run)."""
    return (
        Execution.objects.filter(workflow=workflow, node_runs__isnull=False, deleted_at__isnull=True)
        .order_by("-id")
        .distinct()
        .first()
    )


def pin_changes(previous: Execution, pinned: dict[str, Any]) -> set[str]:
    """Nodes whose pin was set, replaced or removed since ``previous`` ran them (they run again)."""
    before = pinned_runs(previous)
    now = {name: sorted(int(pin) for pin in pin_data["ids"].values()) for name, pin_data in pinned.items()}
    return {name for name in now.keys() | before.keys() if before.get(name) != now.get(name)}


def _plan(
    *,
    version_id: str,
    previous: Execution | None,
    previous_runs: RunData,
    pinned: dict[str, Any],
    start_node: str | None,
    destination_node: str | None,
    destination_mode: str,
    input_items: Any,
    dirty_nodes: list[str],
) -> PartialPlan:
    snapshot = version_snapshot(version_id)
    changed: set[str] = set()
    if previous is None:
        changed = {node["name"] for node in snapshot["nodes"]}
    else:
        if previous.workflow_version_id != version_id:  # the same version: no configuration changed
            changed = config_changes(previous.workflow_snapshot.get("nodes") or [], snapshot["nodes"])
        changed |= pin_changes(previous, pinned)
    try:
        return plan_partial(
            nodes=snapshot["nodes"],
            connections=snapshot["connections"],
            previous=previous_runs,
            pinned=pinned,
            destination=destination_node,
            destination_mode=destination_mode,
            start_node=start_node,
            dirty_nodes=dirty_nodes,
            changed_nodes=changed,
            input_data=input_items,
            graph=version_graph(version_id),
        )
    except PartialError as exc:
        raise InvalidInput(exc.message, field=exc.field) from None


def execution_create_partial(
    *,
    workflow: Workflow,
    user: User | AnonymousUser | None,
    start_node: str | None = None,
    destination_node: str | None = None,
    destination_mode: str | None = None,
    input_data: Any = None,
    previous_execution: Execution | None = None,
    dirty_nodes: list[str] | None = None,
    defer_enqueue: bool = False,
) -> Execution:
    """Create a ``partial`` manual execution of the workflow's current definition and queue it.

    ``previous_execution`` (default: the workflow's latest execution with node runs) provides
    the stored outputs reused upstream of what runs; the caller resolves it among the
    executions the user may see.
    """
    start_node = start_node or None
    destination_node = destination_node or None
    if start_node is None and destination_node is None:
        raise InvalidInput("start_node or destination_node is required", field="start_node")
    if destination_mode not in (None, "", "inclusive", "exclusive"):
        raise InvalidInput("must be `inclusive` or `exclusive`", field="destination_mode")
    dest_mode = destination_mode or "inclusive"
    if previous_execution is not None and previous_execution.workflow_id != workflow.pk:
        raise InvalidInput(
            f"execution {previous_execution.pk} belongs to another workflow", field="previous_execution_id"
        )
    try:
        input_items = wrap_items(input_data, "input_data") if input_data is not None else None
    except ValueError as exc:
        raise InvalidInput(str(exc), field="input_data") from None
    previous = previous_execution or latest_previous(workflow)
    previous_runs, origins = reusable_runs(previous) if previous is not None else ({}, {})
    version_id = workflow.snapshot_id()
    pinned = active_pins(workflow.pk) if MODE == ExecutionMode.MANUAL else {}
    plan = _plan(
        version_id=version_id,
        previous=previous,
        previous_runs=previous_runs,
        pinned=pinned,
        start_node=start_node,
        destination_node=destination_node,
        destination_mode=dest_mode,
        input_items=input_items,
        dirty_nodes=list(dirty_nodes or ()),
    )
    return _store(
        workflow=workflow,
        user=user,
        version_id=version_id,
        previous=previous,
        origins=origins,
        plan=plan,
        start_node=start_node,
        destination_node=destination_node,
        destination_mode=dest_mode,
        defer_enqueue=defer_enqueue,
    )


def execution_create_step(
    *,
    workflow: Workflow,
    user: User | AnonymousUser | None,
    node_name: str,
    input_data: Any = None,
    previous_execution: Execution | None = None,
    defer_enqueue: bool = False,
) -> Execution:
    """ "Execute step": run ``node_name`` only, its inputs rebuilt from the previous execution or given.

    With ``input_data`` the node runs on those items alone. Without, each parent's input comes
    from its pin or its stored output in the previous execution (default: the latest with node
    runs); a parent without either → 400, nothing is written. A node without parents gets one
    empty item. Nothing after the node runs.
    """
    if previous_execution is not None and previous_execution.workflow_id != workflow.pk:
        raise InvalidInput(
            f"execution {previous_execution.pk} belongs to another workflow", field="previous_execution_id"
        )
    try:
        input_items = wrap_items(input_data, "input_data") if input_data is not None else None
    except ValueError as exc:
        raise InvalidInput(str(exc), field="input_data") from None
    version_id = workflow.snapshot_id()
    snapshot = version_snapshot(version_id)
    node = next((n for n in snapshot["nodes"] if n["name"] == node_name), None)
    if node is None:
        raise InvalidInput(f"unknown node {node_name!r}", field="node_name")
    if node.get("disabled"):
        raise InvalidInput(f"node {node_name!r} is disabled", field="node_name")
    previous = previous_execution or latest_previous(workflow)
    pinned = active_pins(workflow.pk) if MODE == ExecutionMode.MANUAL else {}
    origins: dict[str, int] = {}
    try:
        if input_items is not None:
            # The node alone, fed the given items: nothing upstream matters.
            plan = plan_partial(
                nodes=[node],
                connections={},
                previous={},
                pinned=(),
                destination=node_name,
                start_node=node_name,
                input_data=input_items,
            )
        else:
            previous_runs, origins = reusable_runs(previous) if previous is not None else ({}, {})
            plan = plan_partial(
                nodes=snapshot["nodes"],
                connections=snapshot["connections"],
                previous=previous_runs,
                pinned=pinned,
                destination=node_name,
                start_node=node_name,
                graph=version_graph(version_id),
            )
    except PartialError as exc:
        field = "node_name" if exc.field in ("start_node", "destination_node") else exc.field
        raise InvalidInput(exc.message, field=field) from None
    others = sorted(plan.nodes_to_run - {node_name})
    if others:
        raise InvalidInput(
            f"the input of node {node_name!r} cannot be rebuilt: {', '.join(map(repr, others))} "
            "has no stored output or pin data (give input_data or run them first)",
            field="previous_execution_id" if previous is not None else "input_data",
        )
    plan.state.node_filter = [node_name]
    return _store(
        workflow=workflow,
        user=user,
        version_id=version_id,
        previous=previous,
        origins=origins,
        plan=plan,
        start_node=node_name,
        destination_node=node_name,
        destination_mode="inclusive",
        defer_enqueue=defer_enqueue,
    )


def _store(
    *,
    workflow: Workflow,
    user: User | AnonymousUser | None,
    version_id: str,
    previous: Execution | None,
    origins: dict[str, int],
    plan: PartialPlan,
    start_node: str | None,
    destination_node: str | None,
    destination_mode: str,
    defer_enqueue: bool,
) -> Execution:
    """Store the execution, its reused runs as references, and queue it."""
    with transaction.atomic():
        execution = Execution.objects.create(
            workflow=workflow,
            created_by=user if isinstance(user, User) else None,
            mode=MODE,
            execution_mode=RunKind.PARTIAL,
            trigger_node=plan.trigger or "",
            start_node=start_node or "",
            destination_node=destination_node or "",
            destination_mode=destination_mode,
            parent_execution=previous,
            state=plan.state.to_dict(plan.run_data),
            reused_runs={name: origins[name] for name in sorted(plan.reused)},
            workflow_version_id=version_id,
            execution_stack=[{"workflow_id": workflow.pk, "mode": MODE}],
            enqueued_at=timezone.now(),
        )
        if not defer_enqueue:
            transaction.on_commit(lambda: enqueue_execution(execution.pk))
    return execution
