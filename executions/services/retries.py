"""Retrying an execution that failed, crashed or was canceled (API.md ``retry``).

The retry is a new execution (mode ``retry``, ``retry_of`` = the original) that runs the
original's workflow version or, with ``use_current_workflow``, the current one (nodes matched by
name). Where it starts:

* ``failed_node`` (default): where the original stopped. Its saved state is continued — the
  failed node first, fed the same stored outputs, then everything that was still to run — and
  every node that had run is reused by reference, never run again.
* a node name: that node and everything after it run, their inputs rebuilt from the original's
  stored outputs (a partial run from that node; the rest is reused).
* ``start``: the whole workflow again, the trigger fed what it received the first time.

On success the original gets ``retry_success`` (set when the retry finishes). Nothing is written for a refused request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from executions.choices import RETRYABLE, TEST_MODES, ExecutionMode, ExecutionStatus, RunKind
from executions.models import Execution, version_snapshot
from executions.queue import enqueue_execution
from executions.services.worker import reusable_runs
from pindata.selectors import active_pins
from workflows.engine.errors import ParameterError, StateError
from workflows.engine.partial import PartialError, plan_partial
from workflows.engine.retry import ExecutionRetry
from workflows.engine.runner import start_state
from workflows.engine.state import ExecutionState, Items, LazyRunData, Task, summarize
from workflows.errors import Conflict, InvalidInput

FAILED_NODE = "failed_node"
START = "start"


def execution_retry(
    *,
    execution: Execution,
    user: User | AnonymousUser | None,
    start: str | dict[str, Any] = FAILED_NODE,
    use_current_workflow: bool = False,
    not_before: Any = None,
    defer_enqueue: bool = False,
) -> Execution:
    """Create the retry of ``execution`` and queue it (at ``not_before`` when given)."""
    if execution.status not in RETRYABLE:
        raise Conflict(f"execution {execution.pk} is {execution.status}: only failed, crashed or canceled runs retry")
    node = start.get("node") if isinstance(start, dict) else start
    if not isinstance(node, str) or not node:
        raise InvalidInput('must be "failed_node", "start" or a node name', field="from")
    version_id = execution.workflow.snapshot_id() if use_current_workflow else execution.workflow_version_id
    snapshot = version_snapshot(version_id)
    names = {n["name"] for n in snapshot["nodes"]}
    previous, origins = reusable_runs(execution)
    reused: set[str] = set()
    if node == START:
        state, start_node = _from_start(execution, previous, names), execution.trigger_node
    elif node == FAILED_NODE:
        state, reused = _from_failure(execution, previous, names)
        start_node = state.stack[-1].node if state.stack else ""
    else:
        if node not in names:
            field = "use_current_workflow" if use_current_workflow else "from"
            raise InvalidInput(f"node {node!r} is not in the workflow", field=field)
        pinned = active_pins(execution.workflow_id) if execution.root_mode in TEST_MODES else {}
        try:
            plan = plan_partial(
                nodes=snapshot["nodes"],
                connections=snapshot["connections"],
                previous=previous,
                pinned=pinned,
                destination=None,
                start_node=node,
            )
        except PartialError as exc:
            raise InvalidInput(exc.message, field="from") from None
        state, reused, start_node = plan.state, set(plan.reused), node
    run_data = previous.subset(reused) if isinstance(previous, LazyRunData) else previous
    with transaction.atomic():
        retry = Execution.objects.create(
            workflow_id=execution.workflow_id,
            created_by=user if isinstance(user, User) else None,
            mode=ExecutionMode.RETRY,
            execution_mode=RunKind.FULL if node == START else RunKind.PARTIAL,
            trigger_node=execution.trigger_node,
            start_node=start_node,
            destination_node=state.destination or "",
            destination_mode=state.destination_mode,
            retry_of=execution,
            state=state.to_dict(run_data),
            reused_runs={name: origins[name] for name in sorted(reused)},
            workflow_version_id=version_id,
            # Pins and test-mode rules follow the original's root.
            execution_stack=[{"workflow_id": execution.workflow_id, "mode": execution.root_mode}],
            custom_data=dict(execution.custom_data or {}),
            wait_till=not_before,
            enqueued_at=None if not_before else timezone.now(),
        )
        if not not_before and not defer_enqueue:
            transaction.on_commit(lambda: enqueue_execution(retry.pk))
    return retry


def execution_retry_auto(execution: Execution) -> Execution | None:
    """Schedule the next automatic retry of a failed production run (workflow setting ``executionRetry``).

    Returns the retry (a ``new`` execution that starts when due), or ``None`` when the workflow
    asks for none, the retries are used up, or the run was a test or an error workflow's.
    """
    failed = (ExecutionStatus.ERROR, ExecutionStatus.CRASHED)
    if execution.status not in failed or execution.root_mode in TEST_MODES or execution.mode == ExecutionMode.ERROR:
        return None
    try:
        policy = ExecutionRetry.of((execution.workflow_snapshot.get("settings") or {}).get("executionRetry"))
    except ParameterError:
        return None
    if policy is None or Execution.objects.filter(retry_of=execution).exists():
        return None
    number = 1
    link = execution.retry_of_id
    while link is not None and number <= policy.max_retries:
        number += 1
        link = Execution.objects.filter(pk=link).values_list("retry_of_id", flat=True).first()
    if number > policy.max_retries:
        return None
    due = timezone.now() + timedelta(seconds=policy.delay(number))
    try:
        return execution_retry(execution=execution, user=None, start=policy.start, not_before=due)
    except (Conflict, InvalidInput):
        if policy.start == START:
            return None
        return execution_retry(execution=execution, user=None, start=START, not_before=due)


def _from_start(execution: Execution, previous: Any, names: set[str]) -> ExecutionState:
    trigger = execution.trigger_node
    if trigger not in names:
        raise InvalidInput(f"the trigger {trigger!r} is not in the workflow", field="use_current_workflow")
    runs = previous.get(trigger) or []
    first = runs[0].output if runs and runs[0].output else None
    items: Items = [{"json": item.get("json", {})} for item in (first[0] if first else [])]
    return start_state(trigger, items)


def _from_failure(execution: Execution, previous: Any, names: set[str]) -> tuple[ExecutionState, set[str]]:
    """The original's saved state with the failed node back on top, and the nodes to reuse."""
    try:
        state = ExecutionState.from_dict(execution.state, previous)
    except StateError as exc:
        raise Conflict(f"execution {execution.pk} cannot be continued: {exc}") from None
    state.pause = None
    failed = _failed_task(execution, previous)
    if failed is not None:
        state.stack.append(failed)
    pending = [task for task in state.stack] + [task for tasks in state.waiting.values() for task in tasks]
    missing = sorted({task.node for task in pending if task.node not in names})
    if missing:
        raise InvalidInput(
            f"nodes no longer in the workflow: {', '.join(map(repr, missing))}", field="use_current_workflow"
        )
    if not pending:
        raise Conflict(f"execution {execution.pk} has nothing left to run: retry it from the start or a node")
    # Reused: every node whose runs all ended well; a node that failed or was left waiting runs again.
    reused = {
        name
        for name in (previous.known() if isinstance(previous, LazyRunData) else set(previous))
        if all(run.status == "success" for run in summarize(previous, name))
    }
    for task in pending:
        if task.node not in reused:
            task.run_index = None
            task.resume = None
    return state, reused


def _failed_task(execution: Execution, previous: Any) -> Task | None:
    """The task of the node whose error ended the run, fed the stored outputs it was fed."""
    if execution.status != ExecutionStatus.ERROR or not execution.last_node_executed:
        return None
    runs = previous.get(execution.last_node_executed) or []
    record = runs[-1] if runs else None
    if record is None or record.status != "error":
        return None
    inputs: list[Items | None] = []
    for src in record.source or [None]:
        if src is None:
            inputs.append([] if not inputs else None)
            continue
        source_runs = previous.get(src["previousNode"]) or []
        run = src.get("previousNodeRun", 0)
        output = source_runs[run].output if run < len(source_runs) else None
        out = src.get("previousNodeOutput", 0)
        inputs.append(output[out] if output and out < len(output) else [])
    return Task(record.node, inputs, list(record.source or [None]))
