"""Error workflows: a failed or crashed execution starts the workflow that handles its failures.

The handler is the workflow named by the failed workflow's ``errorWorkflow`` setting, else the
failed workflow itself when it contains an ``errorTrigger``. It runs as a new execution of mode
``error`` from its ``errorTrigger``, with n8n's payload as input and ``triggered_by`` pointing at
the failed execution.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from executions.choices import TEST_MODES, ExecutionMode, ExecutionStatus
from executions.models import Execution
from workflows.engine.nodes.error_trigger import ERROR_TRIGGER_TYPE
from workflows.errors import ServiceError
from workflows.models import Workflow
from workflows.selectors import error_workflow_resolve

log = logging.getLogger(__name__)

FAILED = frozenset({ExecutionStatus.ERROR, ExecutionStatus.CRASHED})


def error_workflow_on_commit(*, execution: Execution) -> None:
    """Fire the error workflow once the transaction that ended ``execution`` commits.

    Call it inside that transaction, after the status is set: a rollback fires nothing.
    """
    if execution.status in FAILED and execution.mode != ExecutionMode.ERROR:
        transaction.on_commit(partial(error_workflow_fire, execution=execution))


def error_workflow_fire(*, execution: Execution) -> Execution | None:
    """Start the error workflow of a failed execution; the new execution, or ``None`` when none runs.

    Runs after the failure is committed, inside whichever process ended the execution (a
    worker, the sweeper, a request), so it never raises: a failure here is logged and the
    failed execution stays as it is. The new execution is written in one transaction by
    ``execution_create`` (all or nothing) and queued after it commits.
    """
    try:
        return _fire(execution)
    except Exception:
        log.exception("execution %s: the error workflow could not be started", execution.pk)
        return None


def _fire(execution: Execution) -> Execution | None:
    from executions.services.lifecycle import execution_create  # lifecycle imports this module
    from executions.services.retries import execution_retry_auto

    failed = Execution.objects.select_related("workflow__owner", "created_by").get(pk=execution.pk)
    if failed.status not in FAILED or ExecutionMode.ERROR in (failed.mode, failed.root_mode):
        # An error workflow failing (or a sub-workflow it called) never starts another: no loops.
        return None
    if execution_retry_auto(failed) is not None:
        return None  # retried automatically first: the handler runs once the retries are used up
    snapshot = failed.workflow_snapshot
    wf_settings: dict[str, Any] = snapshot.get("settings") or {}
    if failed.root_mode in TEST_MODES and wf_settings.get("errorWorkflowOnManual") is not True:
        return None
    handler = _handler(failed, wf_settings)
    if handler is None:
        return None
    trigger = _error_trigger(handler.nodes)
    if trigger is None:
        log.warning(
            "execution %s: error workflow %s has no enabled errorTrigger node; not started", failed.pk, handler.pk
        )
        return None
    if Execution.objects.filter(triggered_by=failed, mode=ExecutionMode.ERROR).exists():
        return None  # already started for this failure
    try:
        return execution_create(
            workflow=handler,
            user=failed.created_by,
            mode=ExecutionMode.ERROR,
            trigger_node=trigger,
            input_data=[error_payload(failed)],
            triggered_by=failed,
        )
    except ServiceError as exc:
        log.warning("execution %s: error workflow %s refused: %s", failed.pk, handler.pk, exc.message)
        return None


def _handler(failed: Execution, wf_settings: dict[str, Any]) -> Workflow | None:
    reference = wf_settings.get("errorWorkflow")
    if reference not in (None, ""):
        handler = error_workflow_resolve(owner=failed.workflow.owner, reference=reference)
        if handler is None:
            log.warning(
                "execution %s: error workflow %r does not exist or its owner may not use it", failed.pk, reference
            )
        return handler
    if _error_trigger(failed.workflow.nodes) is not None:
        return failed.workflow  # handles its own failures
    return None


def _error_trigger(nodes: list[dict[str, Any]]) -> str | None:
    """The first enabled ``errorTrigger`` by position (top to bottom, then left to right)."""
    triggers = [n for n in nodes or [] if n.get("type") == ERROR_TRIGGER_TYPE and not n.get("disabled")]
    if not triggers:
        return None

    def key(node: dict[str, Any]) -> tuple[float, float]:
        pos = node.get("position") or [0, 0]
        return float(pos[1]), float(pos[0])

    return str(min(triggers, key=key)["name"])


def error_payload(failed: Execution) -> dict[str, Any]:
    """n8n's error-workflow payload for a failed execution (ids as strings, as n8n sends them)."""
    error: dict[str, Any] = failed.error if isinstance(failed.error, dict) else {}
    message = str(error.get("message") or f"The execution ended {failed.status}")
    node_name = error.get("node")
    node = None
    if isinstance(node_name, str) and node_name:
        node = next((dict(n) for n in failed.workflow_snapshot.get("nodes", []) if n.get("name") == node_name), None)
    return {
        "execution": {
            "id": str(failed.pk),
            "url": f"{settings.BUDFLOW_PUBLIC_URL}{reverse('execution-detail', args=[failed.pk])}",
            "error": {
                "message": message,
                "stack": str(error.get("stack") or f"{error.get('type') or 'Error'}: {message}"),
                "node": node,
            },
            "lastNodeExecuted": failed.last_node_executed or None,
            "mode": failed.mode,
            "retryOf": str(failed.retry_of_id) if failed.retry_of_id else None,
        },
        "workflow": {"id": str(failed.workflow_id), "name": str(failed.workflow_snapshot.get("name") or "")},
    }
