"""Running an execution on a worker: claim, restore, run the engine loop, record the outcome."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from executions.choices import TEST_MODES, ExecutionStatus
from executions.models import Execution, NodeRun, version_graph
from executions.resume_urls import resume_url
from executions.selectors import run_index
from executions.services.lifecycle import execution_claim, execution_finish, execution_release, execution_wait
from executions.services.recorder import DbRecorder, Heartbeat, LeaseLost
from executions.services.rundata import records_of
from executions.services.subworkflows import is_inline_child, subworkflow_info
from pindata.selectors import active_pins
from workflows.engine.context import ExecutionInfo
from workflows.engine.errors import StateError
from workflows.engine.registry import default_registry
from workflows.engine.runner import RunResult, WorkflowRunner
from workflows.engine.state import ExecutionState, LazyRunData, NodeRunRecord, RunSummary
from workflows.selectors import workflow_static_data
from workflows.variables import variables_map

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _fetcher(origins: Mapping[str, int]) -> Callable[[str], list[NodeRunRecord]]:
    def fetch(name: str) -> list[NodeRunRecord]:
        origin = origins[name]
        rows = NodeRun.objects.filter(execution_id=origin, node_name=name).order_by("execution_index")
        return records_of(rows, origin).get(name, [])

    return fetch


def load_run_data(execution: Execution) -> LazyRunData:
    """The stored node runs of an execution in the engine's shape.

    Its own runs are read now; the runs it reuses (a partial run) are fetched from the
    executions holding them when the run first reads them.
    """
    # No event yet (read before the claim logged ``execution_started``): no node has run.
    fresh = execution.last_sequence == 0
    own = {} if fresh else records_of(NodeRun.objects.filter(execution_id=execution.pk).order_by("execution_index"))
    origins = {name: int(origin) for name, origin in (execution.reused_runs or {}).items() if name not in own}
    return LazyRunData(own, origins, _fetcher(origins))


def reusable_runs(execution: Execution) -> tuple[LazyRunData, dict[str, int]]:
    """Everything ``execution`` stored or reused, for planning a partial run from it.

    Nothing but a summary is read now (no items); a node's runs are fetched when the plan
    needs its output. Returns the run data and node → id of the execution holding its rows.
    """
    index, origins = run_index(execution)
    summaries = {name: [RunSummary(*run) for run in runs] for name, runs in index.items()}
    return LazyRunData({}, origins, _fetcher(origins), summaries), origins


def pins_for(execution: Execution) -> dict[str, dict[str, Any]]:
    """Pins apply in test runs (the root execution is manual or test), or when the workflow allows them."""
    if is_inline_child(execution):
        return {}  # it runs under its caller's workflow, whose pins are for the caller's nodes
    settings_ = execution.workflow_snapshot.get("settings") or {}
    if execution.root_mode in TEST_MODES or settings_.get("allowPinDataInProduction"):
        return active_pins(execution.workflow_id)
    return {}


def execution_timeout(workflow_settings: Mapping[str, Any]) -> float | None:
    """Seconds of running time an execution may take, as n8n: the workflow's ``executionTimeout``
    when > 0, else the instance default; capped by ``EXECUTION_TIMEOUT_MAX``; ``None``: no limit."""
    conf = settings.BUDFLOW
    timeout = float(conf["EXECUTION_TIMEOUT"])
    configured = workflow_settings.get("executionTimeout")
    if isinstance(configured, (int, float)) and not isinstance(configured, bool) and configured > 0:
        timeout = float(configured)
    if timeout <= 0:
        return None
    return min(timeout, float(conf["EXECUTION_TIMEOUT_MAX"]))


def execution_info(execution: Execution) -> ExecutionInfo:
    snapshot = execution.workflow_snapshot
    next_pause = int((execution.state or {}).get("pause_sequence") or 0) + 1
    info = ExecutionInfo(
        execution_id=str(execution.pk),
        mode=execution.mode,
        workflow_id=str(execution.workflow_id),
        workflow_name=str(snapshot.get("name", "")),
        workflow_active=bool(snapshot.get("active", False)),
        root_mode=execution.root_mode,
        # The URL of the *next* wait, so a node before it can hand it out (email, HTTP).
        resume_url=resume_url(execution, next_pause),
        extra={"timezone": str((snapshot.get("settings") or {}).get("timezone") or "UTC")},
        # Read when an expression first uses ``$vars`` / ``$getWorkflowStaticData``.
        variables=variables_map,
        static_data=partial(workflow_static_data, execution.workflow_id),
    )
    return subworkflow_info(execution, info)


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
        run_data = load_run_data(execution)
        recorder = DbRecorder(execution=execution, worker_id=worker_id, run_data=run_data, budget=budget_seconds)
        state = ExecutionState.from_dict(execution.state, run_data)
        snapshot = execution.workflow_snapshot
        runner = WorkflowRunner(
            nodes=snapshot["nodes"],
            connections=snapshot["connections"],
            graph=version_graph(execution.workflow_version_id),
            registry=default_registry(),
            state=state,
            run_data=run_data,
            hooks=recorder,
            execution=execution_info(execution),
            max_node_runs=int(conf["MAX_NODE_RUNS"]),
            pinned=pins_for(execution),
            max_inline_retry_wait=float(conf["RETRY_INLINE_MAX_SECONDS"]),
            interrupted=recorder.interrupted,
            execution_timeout=execution_timeout(snapshot.get("settings") or {}),
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
    heartbeat = Heartbeat(recorder, every=conf["HEARTBEAT_SECONDS"], poll=conf["CANCEL_POLL_SECONDS"])
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
        recorder.unbind_log()


def _record_outcome(execution: Execution, worker_id: str, recorder: DbRecorder, result: RunResult) -> str:
    if recorder.lease_lost.is_set():
        return ExecutionStatus.RUNNING
    status_map: dict[str, str] = {
        "success": ExecutionStatus.SUCCESS,
        "error": ExecutionStatus.ERROR,
        "canceled": ExecutionStatus.CANCELED,
    }
    if recorder.dirty or recorder.pending_events:
        # The last checkpoint commits on its own, so its node events reach subscribers without
        # waiting for the end to be written (a crash in between: the sweeper ends the run).
        recorder.flush()
    with transaction.atomic():
        if result.status == "waiting":
            pause: dict[str, Any] | None = recorder.runner.state.pause if recorder.runner else None
            execution_wait(execution_id=execution.pk, worker_id=worker_id, pause=pause)
            return ExecutionStatus.WAITING
        if result.status == "canceled" and recorder.handed_off:
            execution_release(execution_id=execution.pk, worker_id=worker_id)
            return ExecutionStatus.RUNNING
        status = status_map[result.status]
        error = result.error
        if status == ExecutionStatus.ERROR and recorder.stop_requested.is_set():
            status = ExecutionStatus.CANCELED  # stopped while failing: a canceled sub-workflow fails its call
        timed_out = bool(error and error.get("type") == "ExecutionTimeout")
        if status == ExecutionStatus.CANCELED and not timed_out:
            error = {"message": "The execution was canceled", "type": "ExecutionCanceled"}
        execution_finish(execution_id=execution.pk, worker_id=worker_id, status=status, error=error)
    return status
