"""Ending an execution: the one place that writes a final status (worker, stop, sweeper)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from executions.events import events_record, execution_event_data
from executions.models import Execution
from executions.services.concurrency import concurrency_release_on_commit
from executions.services.errors import error_workflow_on_commit
from executions.services.subworkflow_waits import subworkflow_ended_on_commit
from executions.transitions import set_status


def execution_end(
    execution: Execution, status: str, error: dict[str, Any] | None, now: datetime, *, cancel_requested: bool = False
) -> None:
    """End a locked execution nobody runs any more (inside the caller's transaction).

    Writes the status, the error and the stop time, frees the lease, logs ``execution_finished``
    and, after the commit, runs what follows an end: the error workflow (failures), the waiting
    parent of a sub-workflow, the next execution held by a concurrency limit, and the original
    of a successful retry.
    """
    set_status(execution, status)
    execution.stopped_at = now
    execution.error = error
    execution.lease_owner = ""
    execution.lease_expires_at = None
    fields = ["status", "stopped_at", "error", "lease_owner", "lease_expires_at"]
    if cancel_requested:
        execution.cancel_requested = True
        fields.append("cancel_requested")
    execution.save(update_fields=fields)
    events_record(execution_id=execution.pk, events=[("execution_finished", execution_event_data(execution), now)])
    if status == "success" and execution.retry_of_id is not None:
        Execution.objects.filter(pk=execution.retry_of_id).update(retry_success=execution)
    error_workflow_on_commit(execution=execution)
    subworkflow_ended_on_commit(execution=execution)
    concurrency_release_on_commit(execution=execution)
