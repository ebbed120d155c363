"""Running an execution on a worker: claim, restore, run the engine loop, record the outcome."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from executions.choices import TEST_MODES, ExecutionStatus
from executions.models import Execution, NodeRun
from executions.resume_urls import resume_url
from executions.services.lifecycle import execution_claim, execution_finish, execution_release, execution_wait
from executions.services.recorder import DbRecorder, Heartbeat, LeaseLost
from pindata.selectors import active_pins
from workflows.engine.context import ExecutionInfo
from workflows.engine.errors import StateError
from workflows.engine.registry import default_registry
from workflows.engine.runner import RunResult, WorkflowRunner
from workflows.engine.state import ExecutionState, NodeRunRecord, RunData

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def load_run_data(execution_id: int) -> RunData:
    """The stored node runs of an execution, in the engine's shape (reused rows resolved)."""
    run_data: RunData = {}
    rows = NodeRun.objects.filter(execution_id=execution_id).select_related("reused_from").order_by("execution_index")
    for row in rows:
        output = row.reused_from.output if row.reused_from_id and row.reused_from else row.output
        metadata = dict(row.metadata or {})
        if row.reused_from_id:
            metadata["reused_from"] = row.reused_from.execution_id if row.reused_from else None
        runs = run_data.setdefault(row.node_name, [])
        record = NodeRunRecord(
            node=row.node_name,
            node_type=row.node_type,
            run_index=row.run_index,
            execution_index=row.execution_index,
            status=row.status,
            start_time=row.started_at.timestamp(),
            execution_time_ms=row.execution_time_ms,
            source=row.source,
            output=output,
            error=row.error,
            metadata=metadata,
        )
        while len(runs) < row.run_index:
            runs.append(record)  # placeholder; rows arrive in execution order
        if row.run_index < len(runs):
            runs[row.run_index] = record
        else:
            runs.append(record)
    return run_data


def pins_for(execution: Execution) -> dict[str, dict[str, Any]]:
    """Pins apply in test runs (the root execution is manual or test), or when the workflow allows them."""
    settings_ = execution.workflow_snapshot.get("settings") or {}
    if execution.root_mode in TEST_MODES or settings_.get("allowPinDataInProduction"):
        return active_pins(execution.workflow_id)
    return {}


def execution_info(execution: Execution) -> ExecutionInfo:
    snapshot = execution.workflow_snapshot
    next_pause = int((execution.state or {}).get("pause_sequence") or 0) + 1
    return ExecutionInfo(
        execution_id=str(execution.pk),
        mode=execution.mode,
        workflow_id=str(execution.workflow_id),
        workflow_name=str(snapshot.get("name", "")),
        workflow_active=bool(snapshot.get("active", False)),
        root_mode=execution.root_mode,
        # The URL of the *next* wait, so a node before it can hand it out (email, HTTP).
        resume_url=resume_url(execution, next_pause),
        extra={"timezone": str((snapshot.get("settings") or {}).get("timezone") or "UTC")},
    )


def execution_run(*, execution_id: int, worker_id: str | None = None, budget_seconds: float | None = None) -> str:
    """Claim and run an execution until it ends, waits or is stopped. Returns its status.

    Safe to call for any id at any time: if the execution is not runnable (done, or held by a
    live lease elsewhere) nothing happens. With ``budget_seconds`` (the timer process running a
    continuation), the run is handed to the workers once the budget is spent: checkpointed,
    its lease released and queued.
    """
    worker_id = worker_id or new_worker_id()
    execution = execution_claim(execution_id=execution_id, worker_id=worker_id)
    if execution is None:
        current = Execution.objects.filter(pk=execution_id).values_list("status", flat=True).first()
        return str(current or "missing")
    conf = settings.BUDFLOW
    try:
        run_data = load_run_data(execution.pk)
        recorder = DbRecorder(execution=execution, worker_id=worker_id, run_data=run_data, budget=budget_seconds)
        state = ExecutionState.from_dict(execution.state, run_data)
        snapshot = execution.workflow_snapshot
        runner = WorkflowRunner(
            nodes=snapshot["nodes"],
            connections=snapshot["connections"],
            registry=default_registry(),
            state=state,
            run_data=run_data,
            hooks=recorder,
            execution=execution_info(execution),
            max_node_runs=int(conf["MAX_NODE_RUNS"]),
            pinned=pins_for(execution),
        )
    except (StateError, KeyError, TypeError, ValueError) as exc:
        log.error("execution %s cannot be restored: %s", execution_id, exc)
        execution_finish(
            execution_id=execution_id,
            worker_id=worker_id,
            status=ExecutionStatus.ERROR,
            error={"message": f"The saved execution state cannot be read: {exc}", "type": "StateError"},
        )
        return ExecutionStatus.ERROR
    recorder.attach(runner)
    heartbeat = Heartbeat(recorder, every=conf["HEARTBEAT_SECONDS"])
    heartbeat.start()
    try:
        result = runner.run()
        return _record_outcome(execution, worker_id, recorder, result)
    except LeaseLost:
        log.warning("execution %s: lease lost, leaving it to the sweeper", execution_id)
        return ExecutionStatus.RUNNING
    finally:
        heartbeat.done.set()
        heartbeat.join()


def _record_outcome(execution: Execution, worker_id: str, recorder: DbRecorder, result: RunResult) -> str:
    if recorder.lease_lost.is_set():
        return ExecutionStatus.RUNNING
    status_map: dict[str, str] = {
        "success": ExecutionStatus.SUCCESS,
        "error": ExecutionStatus.ERROR,
        "canceled": ExecutionStatus.CANCELED,
    }
    with transaction.atomic():
        if recorder.dirty or recorder.pending_events:
            recorder.flush()
        if result.status == "waiting":
            pause: dict[str, Any] | None = recorder.runner.state.pause if recorder.runner else None
            execution_wait(execution_id=execution.pk, worker_id=worker_id, pause=pause)
            return ExecutionStatus.WAITING
        if result.status == "canceled" and recorder.handed_off:
            execution_release(execution_id=execution.pk, worker_id=worker_id)
            return ExecutionStatus.RUNNING
        status = status_map[result.status]
        error = result.error
        if status == ExecutionStatus.CANCELED:
            error = {"message": "The execution was canceled", "type": "ExecutionCanceled"}
        execution_finish(execution_id=execution.pk, worker_id=worker_id, status=status, error=error)
    return status
