"""Sub-workflows that wait, end later or are stopped with their parent (issue 8, part 6).

An awaited child that waits (a Wait node, an approval) is left waiting and its call is recorded
``waiting``; the parent's Execute Workflow node then pauses the parent with a ``subworkflow``
pause naming those children, so no worker is held. Every way a child ends (its worker finishes
it, a stop, a rejected approval, a crash) calls :func:`subworkflow_ended_on_commit`, which after
the commit settles the parent (:func:`subworkflow_settle`): the calls of ended children get
their final status and output, and once every awaited child has ended (or, with
``stopParent``, one has failed) the parent is resumed through the ordinary resume path. The
node then reads its calls' outcomes (:func:`subworkflow_outcomes`) and completes.

Everything that decides a resume is in the database (the pause, the call records, the
children's statuses), so the timer process's sweep (:func:`subworkflows_settle_stale`) settles a
parent whose settling was lost with a crashed process.

Locks are taken parent first, then its calls, and a stop locks the parent before its children;
a child's end settles its parent in a transaction of its own after the child's commit, so no
transaction holds a child while waiting for its parent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from executions.choices import (
    ACTIVE,
    SUBWORKFLOW_PENDING,
    TERMINAL,
    ExecutionMode,
    ExecutionStatus,
    PauseStatus,
    PauseType,
    ResumeTrigger,
    SubWorkflowStatus,
)
from executions.models import Execution, ExecutionPause, NodeRun, SubWorkflowExecution
from executions.services.rundata import records_of
from workflows.engine.state import RunData
from workflows.engine.subworkflows import WAITING, SubWorkflowOutcome, select_output
from workflows.errors import Conflict, NotFound

log = logging.getLogger(__name__)

Result = tuple[str, list[Any], dict[str, Any] | None]


# -- what a finished child hands back -------------------------------------------------------
def call_result(child: Execution, *, output_mode: str, output_node: str | None) -> Result:
    """``(status, output, error)`` of the call of a child that has ended, as its record keeps it."""
    child_id = str(child.pk)
    if child.status == ExecutionStatus.SUCCESS:
        took = (
            (child.stopped_at - child.started_at).total_seconds() * 1000 if child.stopped_at and child.started_at else 0
        )
        wanted = None if output_mode in ("allNodes", "summary") else [output_node or child.last_node_executed]
        output = select_output(
            run_data=child_runs(child.pk, wanted),
            last_node=child.last_node_executed or None,
            output_mode=output_mode,
            output_node=output_node,
            execution_id=child_id,
            status=child.status,
            execution_time_ms=took,
        )
        return SubWorkflowStatus.SUCCESS, output, None
    if child.status == ExecutionStatus.CANCELED:
        error = {"message": f"Sub-workflow execution {child_id} was canceled", "type": "ExecutionCanceled"}
        return SubWorkflowStatus.CANCELED, [], error
    if child.status in (ExecutionStatus.ERROR, ExecutionStatus.CRASHED):
        return (
            SubWorkflowStatus.ERROR,
            [],
            dict(child.error or {"message": "The sub-workflow failed", "type": "SubWorkflowError"}),
        )
    error = {
        "message": f"Sub-workflow execution {child_id} did not finish in this worker (it is {child.status})",
        "type": "SubWorkflowError",
    }
    return SubWorkflowStatus.ERROR, [], error


def child_runs(execution_id: int, nodes: list[str] | None) -> RunData:
    """A finished child's node runs (only those of ``nodes`` when given), in the engine's shape."""
    rows = NodeRun.objects.filter(execution_id=execution_id)
    if nodes is not None:
        rows = rows.filter(node_name__in=[n for n in nodes if n])
    return records_of(rows.order_by("execution_index"))


def _config_result(child: Execution, config: Mapping[str, Any]) -> Result:
    output_node = config.get("outputNode") if config.get("outputMode") == "specificNode" else None
    return call_result(
        child, output_mode=str(config.get("outputMode") or "lastNode"), output_node=str(output_node or "") or None
    )


# -- a child ended --------------------------------------------------------------------------
def subworkflow_ended_on_commit(*, execution: Execution) -> None:
    """Called in the transaction that ends ``execution``: if it is a sub-workflow whose call is
    still open, settle its parent once that transaction commits."""
    if execution.mode != ExecutionMode.INTEGRATED or execution.parent_execution_id is None:
        return
    # Robust: a failure here must not undo or fail the child's end; the sweep settles later.
    transaction.on_commit(partial(_child_ended, execution.pk, execution.parent_execution_id), robust=True)


def _child_ended(child_id: int, parent_id: int) -> None:
    # A ``running`` call belongs to the parent's worker, which reads the child's end itself.
    if SubWorkflowExecution.objects.filter(child_execution_id=child_id, status__in=SUBWORKFLOW_PENDING).exists():
        subworkflow_settle(parent_id=parent_id)


def subworkflow_settle(*, parent_id: int) -> bool:
    """Record the end of the parent's children that have ended, and resume the parent if it
    waits for children and may go on. Returns whether it was resumed.

    Safe to call any number of times from anywhere: the parent's row is locked first, and a
    parent no longer waiting is left alone.
    """
    # Imported here: the pause service ends children (a rejected approval) through this module.
    from executions.services.pauses import _resume, _waiting_pause

    with transaction.atomic():
        status = Execution.objects.select_for_update().filter(pk=parent_id).values_list("status", flat=True).first()
        if status is None:
            return False
        _record_ended_calls(parent_id)
        if status != ExecutionStatus.WAITING:
            return False
        try:
            parent, pause = _waiting_pause(parent_id, None)
        except (Conflict, NotFound):
            return False
        if pause.pause_type != PauseType.SUBWORKFLOW:
            return False
        meta = pause.metadata or {}
        awaited = [int(pk) for pk in meta.get("awaiting") or []]
        calls = dict(
            SubWorkflowExecution.objects.filter(
                parent_execution_id=parent_id, child_execution_id__in=awaited
            ).values_list("child_execution_id", "status")
        )
        open_calls = [pk for pk in awaited if calls.get(pk) in (*SUBWORKFLOW_PENDING, SubWorkflowStatus.RUNNING)]
        failed = any(calls.get(pk) in (SubWorkflowStatus.ERROR, SubWorkflowStatus.CANCELED) for pk in awaited)
        if open_calls and not (failed and meta.get("onSubWorkflowError") == "stopParent"):
            return False
        _resume(
            execution=parent,
            pause=pause,
            trigger=ResumeTrigger.SUBWORKFLOW,
            data={"children": {str(pk): calls.get(pk) for pk in awaited}},
            by="subworkflow",
        )
    return True


def _record_ended_calls(parent_id: int) -> None:
    """Give the open calls of children that have ended their final status, output and error."""
    ended = (
        SubWorkflowExecution.objects.filter(
            parent_execution_id=parent_id, status__in=SUBWORKFLOW_PENDING, child_execution__status__in=TERMINAL
        )
        .select_related("child_execution")
        .defer("input_data", "child_execution__state", "child_execution__custom_data")
    )
    now = timezone.now()
    for record in ended:
        status, output, error = _config_result(record.child_execution, record.config or {})
        SubWorkflowExecution.objects.filter(pk=record.pk, status=record.status).update(
            status=status,
            output_data=output if status == SubWorkflowStatus.SUCCESS else None,
            error_details=error,
            completed_at=now,
        )


# -- the parent's node reads and gives up -----------------------------------------------------
def subworkflow_outcomes(*, parent_id: int, node: str, run_index: int) -> list[SubWorkflowOutcome]:
    """The outcomes of the calls made by the paused run ``run_index`` of ``node``, in call order."""
    pause = (
        ExecutionPause.objects.filter(
            execution_id=parent_id, node_name=node, run_index=run_index, pause_type=PauseType.SUBWORKFLOW
        )
        .order_by("-sequence")
        .first()
    )
    entries: list[dict[str, Any]] = list(((pause.metadata or {}) if pause else {}).get("calls") or [])
    ids = [int(e["executionId"]) for e in entries if e.get("executionId")]
    records = {
        str(r.child_execution_id): r
        for r in SubWorkflowExecution.objects.filter(parent_execution_id=parent_id, child_execution_id__in=ids)
    }
    outcomes: list[SubWorkflowOutcome] = []
    for entry in entries:
        child_id = entry.get("executionId")
        record = records.get(str(child_id)) if child_id else None
        if record is None:
            outcomes.append(
                SubWorkflowOutcome(
                    str(entry.get("status") or "error"),
                    execution_id=str(child_id) if child_id else None,
                    workflow_id=entry.get("workflowId"),
                    error=entry.get("error") or ({"message": "The call record is missing"} if child_id else None),
                )
            )
            continue
        status = record.status
        if status in (*SUBWORKFLOW_PENDING, SubWorkflowStatus.RUNNING):
            status = WAITING
        outcomes.append(
            SubWorkflowOutcome(
                str(status),
                execution_id=str(child_id),
                workflow_id=entry.get("workflowId"),
                output=list(record.output_data or []) if status == SubWorkflowStatus.SUCCESS else [],
                error=record.error_details if status in (SubWorkflowStatus.ERROR, SubWorkflowStatus.CANCELED) else None,
                deadline=entry.get("deadline"),
            )
        )
    return outcomes


def subworkflow_abandon(*, parent_id: int, child_ids: Sequence[str], status: str, error: dict[str, Any]) -> None:
    """Stop children the parent no longer waits for, recording their calls as ``status``."""
    from executions.services.lifecycle import execution_stop  # lifecycle calls this module

    for child_id in child_ids:
        with transaction.atomic():
            updated = SubWorkflowExecution.objects.filter(
                parent_execution_id=parent_id,
                child_execution_id=int(child_id),
                status__in=(*SUBWORKFLOW_PENDING, SubWorkflowStatus.RUNNING),
            ).update(status=status, output_data=None, error_details=error, completed_at=timezone.now())
            child = Execution.objects.filter(pk=int(child_id), status__in=ACTIVE).first()
            if updated and child is not None:
                # Conflict: it ended meanwhile; its call keeps the status given here.
                with contextlib.suppress(Conflict):
                    execution_stop(execution=child, reason=str(error.get("message") or "Its parent stopped waiting"))


# -- stopping a parent ------------------------------------------------------------------------
def subworkflow_children_stop(*, execution: Execution) -> list[int]:
    """Stop the sub-workflow executions of ``execution`` that have not ended, and theirs in turn
    (inside the caller's transaction, which holds ``execution``'s row)."""
    from executions.services.lifecycle import execution_stop  # lifecycle calls this module

    stopped: list[int] = []
    children = Execution.objects.filter(
        parent_execution_id=execution.pk, mode=ExecutionMode.INTEGRATED, status__in=ACTIVE
    ).order_by("pk")
    for child in children.only("pk"):
        try:
            execution_stop(execution=child, reason=f"Its parent execution {execution.pk} was canceled")
        except Conflict:
            continue  # it ended meanwhile
        stopped.append(child.pk)
    return stopped


# -- the timer process's safety net ---------------------------------------------------------------
def subworkflows_settle_stale(*, limit: int = 100) -> list[int]:
    """Settle parents whose settling was lost (a process died between a child's end and it).

    Finds open calls of children that have ended, and parents waiting for children none of
    which is still waiting. Returns the ids of the parents resumed.
    """
    parents = set(
        SubWorkflowExecution.objects.filter(
            status__in=SUBWORKFLOW_PENDING, child_execution__status__in=TERMINAL
        ).values_list("parent_execution_id", flat=True)[:limit]
    )
    parents.update(
        ExecutionPause.objects.filter(
            status=PauseStatus.WAITING, pause_type=PauseType.SUBWORKFLOW, execution__status=ExecutionStatus.WAITING
        )
        .exclude(execution__subworkflow_calls__status=SubWorkflowStatus.WAITING)
        .values_list("execution_id", flat=True)[:limit]
    )
    resumed = []
    for parent_id in sorted(parents):
        try:
            if subworkflow_settle(parent_id=parent_id):
                resumed.append(parent_id)
        except Exception:  # one broken parent must not stop the sweep of the others
            log.exception("settling the sub-workflows of execution %s failed", parent_id)
    return resumed
