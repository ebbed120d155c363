"""Sub-workflow executions (blueprint section 5): the host side of the Execute Workflow node.

A call is checked (depth, cycle, caller policy, a trigger to start from), then a child
execution is created (mode ``integrated``, linked to its parent, one level deeper, the
workflow appended to the stack) with a :class:`SubWorkflowExecution` record of the call.
An awaited child runs to its end *inside the parent's worker*, in the same process, through
the same ``execution_run`` a worker uses: a parent never holds a worker slot while its children
sit in the queue, so no number of levels can exhaust the workers. A child not awaited goes to
the queue like any execution. An awaited child that waits is left waiting, and its parent waits
for it without a worker (:mod:`executions.services.subworkflow_waits`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from executions.choices import ExecutionMode, ExecutionStatus, SubWorkflowStatus
from executions.models import Execution, SubWorkflowExecution, version_snapshot
from executions.queue import enqueue_execution
from executions.services.lifecycle import execution_stop
from executions.services.subworkflow_waits import call_result, subworkflow_abandon, subworkflow_outcomes
from workflows.engine.context import ExecutionInfo
from workflows.engine.errors import WorkflowValidationError
from workflows.engine.registry import default_registry
from workflows.engine.runner import start_state
from workflows.engine.subworkflows import (
    INLINE_STACK_ENTRY,
    WAITING,
    NotCallableError,
    SubWorkflowCall,
    SubWorkflowOutcome,
    SubWorkflowRefused,
    WorkflowNotFoundError,
    check_call,
    check_caller_policy,
    child_items,
    find_trigger,
)
from workflows.engine.validation import validate_workflow
from workflows.errors import Conflict
from workflows.models import Workflow, WorkflowVersion


@dataclass(slots=True)
class Caller:
    """What a call needs to know of the calling execution (read once, when its run starts)."""

    execution_id: int
    workflow_id: int
    mode: str
    depth: int
    stack: list[dict[str, Any]]
    created_by_id: int | None
    _workflow: dict[str, Any] | None = field(default=None, repr=False)
    # Workflows resolved during one node run (``each`` mode calls one workflow per item).
    resolved: dict[str, Workflow] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, execution: Execution) -> Caller:
        stack = list(execution.execution_stack or []) or [
            {"workflow_id": execution.workflow_id, "mode": execution.mode}
        ]
        return cls(
            execution_id=execution.pk,
            workflow_id=execution.workflow_id,
            mode=execution.mode,
            depth=execution.execution_depth,
            stack=stack,
            created_by_id=execution.created_by_id,
        )

    @property
    def stack_ids(self) -> list[str]:
        """The chain's workflow ids, root first (an inline child shows as ``parameter``)."""
        return [stack_id(entry) for entry in self.stack]

    def workflow(self) -> dict[str, Any]:
        """The calling workflow's owner and n8n id (fetched on the first call only)."""
        if self._workflow is None:
            row = Workflow.objects.values("owner_id", "n8n_id").get(pk=self.workflow_id)
            self._workflow = {"owner_id": row["owner_id"], "n8n_id": row["n8n_id"]}
        return self._workflow


def is_inline_child(execution: Execution) -> bool:
    """Whether ``execution`` runs a ``workflowJson`` child (under its caller's workflow row)."""
    stack = execution.execution_stack or []
    top = stack[-1] if stack else None
    return execution.mode == ExecutionMode.INTEGRATED and isinstance(top, dict) and top.get("workflow_id") is None


def stack_id(entry: Any) -> str:
    if isinstance(entry, dict):
        workflow_id = entry.get("workflow_id")
        return INLINE_STACK_ENTRY if workflow_id is None else str(workflow_id)
    return str(entry)


class ExecutionSubWorkflows:
    """The :class:`~workflows.engine.subworkflows.SubWorkflowPort` of one running execution."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def run(
        self, calls: Sequence[SubWorkflowCall], *, concurrency: int = 1, stop_on_error: bool = False
    ) -> list[SubWorkflowOutcome]:
        """Run ``calls`` (``concurrency`` at a time), skipping those not started yet once one
        fails when ``stop_on_error``. One outcome per call, in call order."""
        self.caller.resolved = {}  # a later node run sees edits made to the child meanwhile
        if concurrency <= 1 or len(calls) <= 1:
            outcomes: list[SubWorkflowOutcome] = []
            stopped = False
            for call in calls:
                if stopped:
                    outcomes.append(SubWorkflowOutcome("skipped"))
                    continue
                outcomes.append(subworkflow_call(caller=self.caller, call=call))
                stopped = stop_on_error and outcomes[-1].failed
            return outcomes
        failed = threading.Event()

        def one(call: SubWorkflowCall) -> SubWorkflowOutcome:
            if failed.is_set():
                return SubWorkflowOutcome("skipped")
            try:
                outcome = subworkflow_call(caller=self.caller, call=call)
            finally:
                connection.close()  # this thread's own connection
            if stop_on_error and outcome.failed:
                failed.set()
            return outcome

        # Threads of the parent's worker, each running one child to its end at a time.
        with ThreadPoolExecutor(max_workers=min(concurrency, len(calls)), thread_name_prefix="subworkflow") as pool:
            return list(pool.map(one, calls))

    def collect(self, node: str, run_index: int) -> list[SubWorkflowOutcome]:
        """The outcomes of the calls of a run that paused for waiting children, as they are now."""
        return subworkflow_outcomes(parent_id=self.caller.execution_id, node=node, run_index=run_index)

    def abandon(self, execution_ids: Sequence[str], *, status: str, error: dict[str, Any]) -> None:
        """Stop waiting children whose results the run no longer wants."""
        subworkflow_abandon(parent_id=self.caller.execution_id, child_ids=execution_ids, status=status, error=error)


def subworkflow_info(execution: Execution, info: ExecutionInfo) -> ExecutionInfo:
    """Complete an execution's :class:`ExecutionInfo` with its place in a sub-workflow chain
    (``$depth``, ``$stack``, ``$parent``, the variables its caller passed) and the port that
    runs its own children."""
    caller = Caller.of(execution)
    info.depth = caller.depth
    info.stack = caller.stack_ids
    info.subworkflows = ExecutionSubWorkflows(caller)
    if execution.mode == ExecutionMode.INTEGRATED and execution.parent_execution_id is not None:
        above = caller.stack[-2] if len(caller.stack) > 1 else {}
        info.parent = {
            "executionId": str(execution.parent_execution_id),
            "workflowId": stack_id(above) if above else None,
            "mode": str(above.get("mode") or "") if isinstance(above, dict) else "",
        }
        config = (
            SubWorkflowExecution.objects.filter(child_execution_id=execution.pk)
            .values_list("config", flat=True)
            .first()
        )
        variables = (config or {}).get("variables")
        if isinstance(variables, dict) and variables:
            info.extra = {**info.extra, "vars": {**(info.extra.get("vars") or {}), **variables}}
    return info


# -- one call -----------------------------------------------------------------------------
def subworkflow_call(*, caller: Caller, call: SubWorkflowCall) -> SubWorkflowOutcome:
    """Start one child; an awaited child runs here to its end. Never raises for the child's failure."""
    try:
        child, record = subworkflow_start(caller=caller, call=call)
    except SubWorkflowRefused as exc:
        return SubWorkflowOutcome("error", workflow_id=call.workflow_ref, error=exc.to_dict())
    if not call.wait:
        return SubWorkflowOutcome(
            SubWorkflowStatus.QUEUED, execution_id=str(child.pk), workflow_id=str(child.workflow_id)
        )
    timed_out = _run_in_process(child.pk, call.timeout, call.caller_time_left)
    return subworkflow_complete(record=record, call=call, timed_out=timed_out)


def subworkflow_start(*, caller: Caller, call: SubWorkflowCall) -> tuple[Execution, SubWorkflowExecution]:
    """Check the call and create the child execution and the record of the call, atomically.

    Raises :class:`SubWorkflowRefused` (depth, cycle, policy, missing workflow, no trigger)
    before anything is written. A child not awaited is queued after the commit.
    """
    max_depth = int(settings.BUDFLOW["MAX_SUBWORKFLOW_DEPTH"])
    if call.source == "parameter":
        check_call(stack=caller.stack_ids, depth=caller.depth, target=None, max_depth=max_depth)
        workflow = Workflow.objects.get(pk=caller.workflow_id)  # an inline child runs under its caller's workflow
        version_id = WorkflowVersion.of(_inline_snapshot(call.workflow_json or {}), workflow).pk
        target: str | None = None
        label = "(inline workflow)"
    else:
        workflow = _resolve(call.workflow_ref or "", caller)
        target = label = str(workflow.pk)
        check_call(stack=caller.stack_ids, depth=caller.depth, target=target, max_depth=max_depth)
        calling = caller.workflow()
        check_caller_policy(
            settings=workflow.settings or {},
            target=target,
            caller=str(caller.workflow_id),
            caller_aliases=[str(caller.workflow_id), *([calling["n8n_id"]] if calling["n8n_id"] else [])],
            same_owner=workflow.owner_id == calling["owner_id"],
        )
        version_id = workflow.snapshot_id()
    snapshot = version_snapshot(version_id)
    trigger = find_trigger(snapshot["nodes"], label)
    if call.output_node and not any(n["name"] == call.output_node for n in snapshot["nodes"]):
        raise SubWorkflowRefused(
            f"outputNode {call.output_node!r} does not exist in workflow {label}",
            extra={"parameter": "outputNode", "subWorkflowId": target},
        )
    items = child_items(call.items)
    now = timezone.now()
    with transaction.atomic():
        child = Execution.objects.create(
            workflow=workflow,
            created_by_id=caller.created_by_id,
            mode=ExecutionMode.INTEGRATED,
            trigger_node=trigger,
            state=start_state(trigger, items).to_dict({}),
            workflow_version_id=version_id,
            parent_execution_id=caller.execution_id,
            triggered_by_id=caller.execution_id,
            execution_depth=caller.depth + 1,
            execution_stack=[*caller.stack, {"workflow_id": workflow.pk if target else None, "mode": "integrated"}],
            # Set even for a child run here: if this worker dies before claiming it, the sweeper
            # queues it like any execution nobody claimed.
            enqueued_at=now,
        )
        record = SubWorkflowExecution.objects.create(
            parent_execution_id=caller.execution_id,
            child_execution=child,
            node_name=call.node,
            run_index=call.run_index,
            item_index=call.item_index,
            input_data=items,
            config=call.config,
            status=SubWorkflowStatus.RUNNING if call.wait else SubWorkflowStatus.QUEUED,
            started_at=now,
        )
        if not call.wait:
            transaction.on_commit(lambda: enqueue_execution(child.pk))
    return child, record


def subworkflow_complete(*, record: SubWorkflowExecution, call: SubWorkflowCall, timed_out: bool) -> SubWorkflowOutcome:
    """Read how an awaited child ended (or that it waits), record it on the call, and say what
    the parent gets."""
    child = Execution.objects.get(pk=record.child_execution_id)
    child_id, workflow_id = str(child.pk), str(child.workflow_id)
    if timed_out:
        status: str = SubWorkflowStatus.ERROR
        output: list[Any] = []
        error: dict[str, Any] | None = {
            "message": f"Sub-workflow execution {child_id} timed out after {call.timeout:g} s",
            "type": "SubWorkflowTimeoutError",
        }
    elif child.status == ExecutionStatus.WAITING:
        # The child is left waiting; the parent pauses until it ends (subworkflow_waits). Only a
        # call still ``running`` becomes ``waiting``: a child that ended meanwhile settled it.
        SubWorkflowExecution.objects.filter(pk=record.pk, status=SubWorkflowStatus.RUNNING).update(
            status=SubWorkflowStatus.WAITING
        )
        deadline = record.started_at.timestamp() + call.timeout if call.timeout else None
        return SubWorkflowOutcome(WAITING, execution_id=child_id, workflow_id=workflow_id, deadline=deadline)
    else:
        status, output, error = call_result(child, output_mode=call.output_mode, output_node=call.output_node)
    SubWorkflowExecution.objects.filter(pk=record.pk).update(
        status=status,
        output_data=output if status == SubWorkflowStatus.SUCCESS else None,
        error_details=error,
        completed_at=timezone.now(),
    )
    return SubWorkflowOutcome(str(status), execution_id=child_id, workflow_id=workflow_id, output=output, error=error)


# -- helpers ------------------------------------------------------------------------------
def _resolve(ref: str, caller: Caller) -> Workflow:
    """The workflow ``ref`` names: its id, else an n8n id (the caller owner's first)."""
    found: Workflow | None = caller.resolved.get(ref)
    if found is not None:
        return found
    if ref.isascii() and ref.isdigit() and int(ref) < 2**63:
        found = Workflow.objects.filter(pk=int(ref)).first()
    if found is None and ref:
        by_alias = Workflow.objects.filter(n8n_id=ref)
        found = by_alias.filter(owner_id=caller.workflow()["owner_id"]).first() or by_alias.first()
    if found is None:
        raise WorkflowNotFoundError(f"Workflow {ref} does not exist", extra={"subWorkflowId": ref})
    caller.resolved[ref] = found
    return found


def _inline_snapshot(definition: dict[str, Any]) -> dict[str, Any]:
    """``workflowJson`` validated like a saved workflow, in the shape of ``Workflow.snapshot()``."""
    try:
        nodes, connections, wf_settings = validate_workflow(
            definition.get("nodes"),
            definition.get("connections") or {},
            definition.get("settings") or {},
            default_registry(),
        )
    except WorkflowValidationError as exc:
        raise NotCallableError(f"The inline workflow (workflowJson) is invalid: {exc}", extra={"errors": exc.errors})
    return {
        "id": None,
        "name": str(definition.get("name") or "Inline sub-workflow"),
        "active": False,
        "version": 1,
        "nodes": nodes,
        "connections": connections,
        "settings": wf_settings,
    }


def _run_in_process(child_id: int, timeout: float | None, caller_time_left: float | None = None) -> bool:
    """Run the child here to its end; stop it once its call ``timeout`` or the caller's time passes.

    Returns whether the call's own timeout stopped it (the caller running out of time ends the
    caller anyway). The stop is the ordinary cancel request: a running HTTP call is aborted,
    anything else ends at the child's next checkpoint.
    """
    # Imported here: the worker service builds every execution's port from this module.
    from executions.services.worker import execution_run

    limits = [(t, own) for t, own in ((timeout, True), (caller_time_left, False)) if t is not None]
    if not limits:
        execution_run(execution_id=child_id)
        return False
    after, own = min(limits, key=lambda limit: limit[0])
    fired = threading.Event()

    def time_out() -> None:
        reason = f"Timed out after {after:g} s" if own else "The calling execution ran out of time"
        try:
            if _stop(child_id, reason) and own:
                fired.set()
        finally:
            connection.close()

    timer = threading.Timer(after, time_out)
    timer.daemon = True
    timer.start()
    try:
        execution_run(execution_id=child_id)
    finally:
        timer.cancel()
        timer.join()  # a stop in flight decides the outcome before it is read
    return fired.is_set()


def _stop(execution_id: int, reason: str) -> bool:
    try:
        execution_stop(execution=Execution.objects.get(pk=execution_id), reason=reason)
    except Conflict:
        return False  # it ended meanwhile
    return True
