"""The timer process's duties that keep executions moving: lease sweeping and lost tasks."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from executions.choices import ExecutionStatus
from executions.events import events_record, execution_event_data
from executions.models import Execution
from executions.queue import enqueue_execution
from executions.services.ending import execution_end

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
                execution_end(execution, ExecutionStatus.CANCELED, canceled, now)
                continue
            if execution.recoveries >= conf["MAX_RECOVERIES"]:
                error = {
                    "message": f"The worker running this execution stopped {execution.recoveries + 1} times",
                    "type": "WorkerCrashed",
                }
                execution_end(execution, ExecutionStatus.CRASHED, error, now)
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


def requeue_unclaimed(*, limit: int = 100) -> list[int]:
    """Re-queue ``new`` executions no worker claimed in time (a broker can drop tasks)."""
    cutoff = timezone.now() - timedelta(seconds=settings.BUDFLOW["UNCLAIMED_REQUEUE_SECONDS"])
    return _queue_new(Q(enqueued_at__lt=cutoff, held_at__isnull=True), "enqueued_at", limit)


def start_due(*, limit: int = 200) -> list[int]:
    """Queue ``new`` executions whose start was deferred (automatic retries) once they are due."""
    return _queue_new(Q(enqueued_at__isnull=True, wait_till__lte=timezone.now()), "wait_till", limit)


def _queue_new(condition: Q, order: str, limit: int) -> list[int]:
    """Queue the ``new`` executions matching ``condition`` (oldest ``order`` first), after the commit."""
    now = timezone.now()
    queued: list[int] = []
    with transaction.atomic():
        due = _locked_due(
            Execution.objects.filter(condition, status=ExecutionStatus.NEW, cancel_requested=False)
        ).order_by(order)[:limit]
        for execution in due:
            Execution.objects.filter(pk=execution.pk).update(enqueued_at=now)
            queued.append(execution.pk)
            transaction.on_commit(partial(enqueue_execution, execution.pk))
    return queued


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
