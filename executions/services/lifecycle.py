"""Creating, claiming, finishing and stopping executions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from executions.choices import TEST_MODES, ExecutionMode, ExecutionStatus, PauseType
from executions.events import events_record, execution_event_data
from executions.models import Execution, version_snapshot
from executions.queue import enqueue_execution
from executions.services.concurrency import concurrency_admits, concurrency_release_on_commit, is_limited
from executions.services.ending import execution_end
from executions.services.pauses import pause_record, pauses_cancel
from executions.services.subworkflow_waits import (
    subworkflow_children_stop,
    subworkflow_settle,
)
from executions.transitions import set_status
from pindata.selectors import active_pins
from workflows.engine.graph import Graph
from workflows.engine.items import wrap_items
from workflows.engine.registry import default_registry
from workflows.engine.runner import start_state
from workflows.errors import Conflict, InvalidInput
from workflows.models import Workflow

DESTINATION_MODES = ("inclusive", "exclusive")
WEBHOOK_TYPE = "n8n-nodes-base.webhook"


def _lease_delta() -> timedelta:
    return timedelta(seconds=settings.BUDFLOW["LEASE_SECONDS"])


def pick_trigger(nodes: list[dict[str, Any]], requested: str | None) -> str:
    """The trigger a run starts from: the named one, else the manual trigger, else the first by position."""
    registry = default_registry()
    by_name = {n["name"]: n for n in nodes}
    if requested:
        node = by_name.get(requested)
        if node is None:
            raise InvalidInput(f"node {requested!r} does not exist", field="trigger_node")
        node_type = registry.get(node["type"])
        if node_type is None or not node_type.is_trigger:
            raise InvalidInput(f"node {requested!r} is not a trigger", field="trigger_node")
        if node.get("disabled"):
            raise InvalidInput(f"trigger {requested!r} is disabled", field="trigger_node")
        return requested
    triggers = [
        n for n in nodes if not n.get("disabled") and (t := registry.get(n["type"])) is not None and t.is_trigger
    ]
    if not triggers:
        raise InvalidInput("the workflow has no enabled trigger node to start from", field="trigger_node")
    manual = [n for n in triggers if n["type"] == "n8n-nodes-base.manualTrigger"]
    if manual:
        return str(manual[0]["name"])

    def key(n: dict[str, Any]) -> tuple[float, float]:
        pos = n.get("position") or [0, 0]
        return float(pos[1]), float(pos[0])

    return str(sorted(triggers, key=key)[0]["name"])


def check_destination(nodes: list[dict[str, Any]], destination: str | None, mode: str | None) -> tuple[str, str]:
    if mode not in (None, "", *DESTINATION_MODES):
        raise InvalidInput("must be `inclusive` or `exclusive`", field="destination_mode")
    if not destination:
        return "", mode or "inclusive"
    node = next((n for n in nodes if n["name"] == destination), None)
    if node is None:
        raise InvalidInput(f"node {destination!r} does not exist", field="destination_node")
    if node.get("disabled"):
        raise InvalidInput(f"node {destination!r} is disabled", field="destination_node")
    return destination, mode or "inclusive"


def execution_create(
    *,
    workflow: Workflow,
    user: User | AnonymousUser | None,
    mode: str = ExecutionMode.MANUAL,
    trigger_node: str | None = None,
    input_data: Any = None,
    destination_node: str | None = None,
    destination_mode: str | None = None,
    defer_enqueue: bool = False,
    triggered_by: Execution | None = None,
) -> Execution:
    """Create a ``new`` execution of the workflow's current definition and queue it.

    Everything is checked before anything is written: a refused request leaves no execution.
    A manual run whose trigger is a webhook and that has no input listens on
    ``/webhook-test/{path}`` for one call instead of being queued. ``defer_enqueue`` leaves
    the queueing to the caller (webhooks run short executions in the web process).
    ``triggered_by`` is the execution that caused this one (an error workflow's failed run).
    """
    if mode not in ExecutionMode.values:
        raise InvalidInput(f"unknown mode {mode!r}", field="mode")
    version_id = workflow.snapshot_id()
    snapshot = version_snapshot(version_id)
    nodes = snapshot["nodes"]
    trigger = pick_trigger(nodes, trigger_node)
    destination, dest_mode = check_destination(nodes, destination_node, destination_mode)
    if destination and destination != trigger:
        graph = Graph(nodes, snapshot["connections"])
        if destination not in graph.descendants(trigger):
            raise InvalidInput(
                f"node {destination!r} cannot be reached from trigger {trigger!r}", field="destination_node"
            )
    try:
        items = wrap_items(input_data, "input_data") if input_data is not None else []
    except ValueError as exc:
        raise InvalidInput(str(exc), field="input_data") from None
    state = start_state(trigger, items, destination=destination or None, destination_mode=dest_mode)
    trigger_def = next(n for n in nodes if n["name"] == trigger)
    # A pinned webhook trigger starts at once with its pin instead of listening for a call.
    listen = (
        input_data is None
        and mode in TEST_MODES
        and trigger_def["type"] == WEBHOOK_TYPE
        and trigger not in active_pins(workflow.pk)
    )
    with transaction.atomic():
        execution = Execution.objects.create(
            workflow=workflow,
            created_by=user if isinstance(user, User) else None,
            mode=mode,
            trigger_node=trigger,
            destination_node=destination,
            destination_mode=dest_mode,
            state=state.to_dict({}),
            workflow_version_id=version_id,
            execution_stack=[{"workflow_id": workflow.pk, "mode": mode}],
            enqueued_at=None if listen else timezone.now(),
            triggered_by=triggered_by,
        )
        if listen:
            from executions.services.webhooks import webhook_listen

            webhook_listen(execution=execution, node=trigger_def)
        elif not defer_enqueue:
            transaction.on_commit(lambda: enqueue_execution(execution.pk))
    return execution


def execution_claim(*, execution_id: int, worker_id: str) -> Execution | None:
    """Take the lease of a runnable execution; ``None`` when another worker has it or it is done.

    Runnable: ``new``, or ``running`` with a released (``lease_owner`` empty: resumed or
    recovered) or expired lease. A locked read makes concurrent claims of one row serialise.
    A ``new`` execution over a concurrency limit stays ``new`` (held) and ``None`` is returned.
    """
    now = timezone.now()
    with transaction.atomic():
        execution = (
            Execution.objects.select_for_update()
            .filter(pk=execution_id)
            .filter(
                Q(status=ExecutionStatus.NEW, cancel_requested=False)
                | Q(status=ExecutionStatus.RUNNING) & (Q(lease_owner="") | Q(lease_expires_at__lt=now))
            )
            .first()
        )
        if execution is None:
            return None
        was_new = execution.status == ExecutionStatus.NEW
        if was_new and is_limited(execution) and not concurrency_admits(execution=execution):
            return None
        set_status(execution, ExecutionStatus.RUNNING)
        execution.lease_owner = worker_id
        execution.lease_expires_at = now + _lease_delta()
        if execution.started_at is None:
            execution.started_at = now
        execution.save(update_fields=["status", "lease_owner", "lease_expires_at", "started_at"])
        if was_new:
            events_record(
                execution_id=execution.pk, events=[("execution_started", execution_event_data(execution), now)]
            )
    return execution


def execution_finish(*, execution_id: int, worker_id: str, status: str, error: dict[str, Any] | None = None) -> bool:
    """End a running execution this worker holds; ``False`` if the lease was lost meanwhile."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        execution = Execution.objects.select_for_update().filter(pk=execution_id, lease_owner=worker_id).first()
        if execution is None or execution.status != ExecutionStatus.RUNNING:
            return False
        execution_end(execution, status, error, now)
    return True


def execution_release(*, execution_id: int, worker_id: str) -> bool:
    """Give up a running execution's lease so another worker continues it (queued at once)."""
    with transaction.atomic():
        released = Execution.objects.filter(
            pk=execution_id, lease_owner=worker_id, status=ExecutionStatus.RUNNING
        ).update(lease_owner="", lease_expires_at=timezone.now() + _lease_delta(), enqueued_at=timezone.now())
        if released:
            transaction.on_commit(lambda: enqueue_execution(execution_id, urgent=True))
    return released == 1


def execution_wait(
    *, execution_id: int, worker_id: str, wait_till: Any = None, pause: dict[str, Any] | None = None
) -> bool:
    """Park a running execution as ``waiting``: no worker holds it until something resumes it."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        execution = Execution.objects.select_for_update().filter(pk=execution_id, lease_owner=worker_id).first()
        if execution is None or execution.status != ExecutionStatus.RUNNING:
            return False
        set_status(execution, ExecutionStatus.WAITING)
        record = pause_record(execution=execution, pause=pause) if pause else None
        execution.wait_till = record.due_at if record else wait_till
        execution.lease_owner = ""
        execution.lease_expires_at = None
        execution.save(update_fields=["status", "wait_till", "lease_owner", "lease_expires_at"])
        data = execution_event_data(execution)
        if record:
            data["pause"] = {
                "type": record.pause_type,
                "node": record.node_name,
                "sequence": record.sequence,
                "due_at": record.due_at.isoformat() if record.due_at else None,
            }
        events_record(execution_id=execution.pk, events=[("execution_waiting", data, now)])
        concurrency_release_on_commit(execution=execution)  # a waiting execution holds no slot
        if record and record.pause_type == PauseType.SUBWORKFLOW:
            # A child may have ended before this commit, while its settling saw a running parent.
            transaction.on_commit(lambda: subworkflow_settle(parent_id=execution_id), robust=True)
    return True


def execution_stop(*, execution: Execution, reason: str = "The execution was canceled") -> Execution:
    """Cancel an execution: at once when nobody runs it, else ask its worker to stop."""
    now = timezone.now()
    with transaction.atomic():
        locked = Execution.objects.select_for_update().get(pk=execution.pk)
        if locked.status not in (ExecutionStatus.NEW, ExecutionStatus.RUNNING, ExecutionStatus.WAITING):
            raise Conflict(
                f"execution {locked.pk} is {locked.status}; only new, running or waiting executions can be stopped"
            )
        subworkflow_children_stop(execution=locked)
        lease_alive = locked.lease_owner and locked.lease_expires_at and locked.lease_expires_at > now
        if locked.status == ExecutionStatus.RUNNING and lease_alive:
            locked.cancel_requested = True
            locked.save(update_fields=["cancel_requested"])
            return locked
        if locked.status == ExecutionStatus.WAITING:
            pauses_cancel(execution=locked)
        execution_end(
            locked,
            ExecutionStatus.CANCELED,
            {"message": reason, "type": "ExecutionCanceled"},
            now,
            cancel_requested=True,
        )
    return locked


def execution_delete(*, execution: Execution) -> None:
    """Delete a finished execution with its node runs and events; active ones must be stopped first."""
    if execution.status in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING, ExecutionStatus.NEW):
        raise Conflict(f"execution {execution.pk} is {execution.status}; stop it before deleting it")
    execution.delete()
