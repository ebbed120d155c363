"""The timer process's duties that keep executions moving: lease sweeping and lost tasks."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from executions.choices import ExecutionStatus
from executions.events import events_record, execution_event_data
from executions.models import Execution
from executions.queue import enqueue_execution
from executions.services.concurrency import concurrency_release_on_commit
from executions.services.errors import error_workflow_on_commit
from executions.services.subworkflow_waits import subworkflow_ended_on_commit
from executions.transitions import set_status

log = logging.getLogger(__name__)


def _locked_due(qs: QuerySet[Execution]) -> QuerySet[Execution]:
    # PostgreSQL: concurrent sweepers skip rows another one holds. SQLite serialises writers.
    if transaction.get_connection().features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True)
    return qs


def sweep_expired_leases(*, limit: int = 100) -> list[int]:
    """Take over running executions whose worker stopped renewing its lease.

    Each is released for another worker (``lease_owner`` emptied, ``execution_recovered``
    sent) and re-queued; after ``MAX_RECOVERIES`` it ends ``crashed`` instead. One whose stop
    was requested ends ``canceled`` here: a stop is honoured even when its worker died.
    """
    conf = settings.BUDFLOW
    now = timezone.now()
    recovered: list[int] = []
    with transaction.atomic():
        due = _locked_due(
            Execution.objects.filter(status=ExecutionStatus.RUNNING, lease_expires_at__lt=now).exclude(lease_owner="")
        ).order_by("lease_expires_at")[:limit]
        for execution in due:
            if execution.cancel_requested:
                canceled = {"message": "The execution was canceled", "type": "ExecutionCanceled"}
                _end(execution, ExecutionStatus.CANCELED, canceled, now)
                continue
            if execution.recoveries >= conf["MAX_RECOVERIES"]:
                error = {
                    "message": f"The worker running this execution stopped {execution.recoveries + 1} times",
                    "type": "WorkerCrashed",
                }
                _end(execution, ExecutionStatus.CRASHED, error, now)
                continue
            execution.recoveries += 1
            execution.lease_owner = ""
            # Grace period for the re-queued task to be claimed before the next sweep.
            execution.lease_expires_at = now + timedelta(seconds=conf["LEASE_SECONDS"])
            execution.save(update_fields=["recoveries", "lease_owner", "lease_expires_at"])
            data = execution_event_data(execution)
            data["recoveries"] = execution.recoveries
            events_record(execution_id=execution.pk, events=[("execution_recovered", data, now)])
            recovered.append(execution.pk)
    # After the commit, so the claiming worker sees the released lease.
    for pk in recovered:
        log.warning("execution %s: lease expired, recovered", pk)
        enqueue_execution(pk)
    return recovered


def _end(execution: Execution, status: str, error: dict[str, Any], now: datetime) -> None:
    """End a locked execution nobody runs any more, with its event and what follows an end."""
    set_status(execution, status)
    execution.stopped_at = now
    execution.error = error
    execution.lease_owner = ""
    execution.lease_expires_at = None
    execution.save(update_fields=["status", "stopped_at", "error", "lease_owner", "lease_expires_at"])
    events_record(execution_id=execution.pk, events=[("execution_finished", execution_event_data(execution), now)])
    error_workflow_on_commit(execution=execution)
    subworkflow_ended_on_commit(execution=execution)
    concurrency_release_on_commit(execution=execution)


def requeue_unclaimed(*, limit: int = 100) -> list[int]:
    """Re-queue ``new`` executions no worker claimed in time (a broker can drop tasks)."""
    conf = settings.BUDFLOW
    now = timezone.now()
    cutoff = now - timedelta(seconds=conf["UNCLAIMED_REQUEUE_SECONDS"])
    requeued: list[int] = []
    with transaction.atomic():
        due = _locked_due(
            Execution.objects.filter(
                status=ExecutionStatus.NEW, cancel_requested=False, enqueued_at__lt=cutoff, held_at__isnull=True
            )
        ).order_by("enqueued_at")[:limit]
        for execution in due:
            Execution.objects.filter(pk=execution.pk).update(enqueued_at=now)
            requeued.append(execution.pk)
            transaction.on_commit(partial(enqueue_execution, execution.pk))
    return requeued


def start_due(*, limit: int = 200) -> list[int]:
    """Queue ``new`` executions whose start was deferred (automatic retries) once they are due."""
    now = timezone.now()
    started: list[int] = []
    with transaction.atomic():
        due = _locked_due(
            Execution.objects.filter(
                status=ExecutionStatus.NEW, cancel_requested=False, enqueued_at__isnull=True, wait_till__lte=now
            )
        ).order_by("wait_till")[:limit]
        for execution in due:
            Execution.objects.filter(pk=execution.pk).update(enqueued_at=now)
            started.append(execution.pk)
            transaction.on_commit(partial(enqueue_execution, execution.pk))
    return started


def expire_webhook_listeners() -> list[int]:
    """Cancel manual executions whose test webhook was not called in time."""
    from executions.models import WebhookListener
    from executions.services.lifecycle import execution_stop

    now = timezone.now()
    expired = list(WebhookListener.objects.filter(expires_at__lt=now).select_related("execution"))
    canceled = []
    for listener in expired:
        execution = listener.execution
        if WebhookListener.objects.filter(pk=listener.pk).delete()[0] != 1:
            continue  # the call arrived meanwhile
        if execution.status == ExecutionStatus.NEW:
            execution_stop(execution=execution, reason="No call arrived at the test webhook in time")
            canceled.append(execution.pk)
    return canceled
