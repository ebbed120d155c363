"""Waits: recording a pause, and every way of ending it (timer, webhook, form, API, admin).

Every resume goes through :func:`_resume`, a locked read of the execution and its pause: of
any number of concurrent callers exactly one finds the execution ``waiting`` and wins; the
rest get 409. The winner injects the resume data into the saved state and queues the run.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import jsonschema
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from executions.choices import ExecutionStatus, NodeRunStatus, PauseStatus, PauseType, ResumeTrigger
from executions.events import events_record, execution_event_data
from executions.models import Execution, ExecutionPause, NodeRun, ResumeWebhook
from executions.queue import enqueue_execution
from executions.resume_urls import mac, resume_token, token_hash
from executions.services.errors import error_workflow_on_commit
from executions.services.subworkflow_waits import subworkflow_ended_on_commit
from executions.transitions import set_status
from workflows.errors import Conflict, Gone, InvalidInput, NotFound, ServiceError

log = logging.getLogger(__name__)

UserLike = AbstractBaseUser | AnonymousUser | None


class MethodNotAllowed(ServiceError):
    status = 405


def _epoch(value: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC) if value else None


# -- pausing -----------------------------------------------------------------------------
def pause_record(*, execution: Execution, pause: dict[str, Any]) -> ExecutionPause:
    """Store the pause the engine asked for (inside the transaction that parks the execution)."""
    metadata = dict(pause.get("metadata") or {})
    approvers = metadata.get("approvers") or []
    record = ExecutionPause.objects.create(
        execution=execution,
        sequence=int(pause["sequence"]),
        pause_type=pause["type"],
        node_name=pause["node"],
        run_index=int(pause.get("run_index") or 0),
        serialized_state=execution.state or {},
        metadata=metadata,
        approver_list=("," + ",".join(approvers) + ",") if approvers else "",
        due_at=_epoch(pause.get("due_at")),
        expires_at=_epoch(pause.get("expires_at")),
    )
    if record.pause_type in (PauseType.WEBHOOK, PauseType.FORM):
        token = resume_token(execution.pk, record.sequence, execution.resume_secret)
        ResumeWebhook.objects.create(
            pause=record,
            token_hash=token_hash(token),
            expected_method=str(metadata.get("http_method") or ("POST" if record.pause_type == "form" else "GET")),
            expires_at=record.expires_at,
        )
    return record


# -- resuming ----------------------------------------------------------------------------
def _waiting_pause(execution_id: int, sequence: int | None) -> tuple[Execution, ExecutionPause]:
    execution = Execution.objects.select_for_update().select_related("workflow").filter(pk=execution_id).first()
    if execution is None:
        raise NotFound(f"execution {execution_id} does not exist")
    if execution.status != ExecutionStatus.WAITING:
        raise Conflict(f"execution {execution_id} is {execution.status}, not waiting")
    qs = ExecutionPause.objects.select_for_update().filter(execution=execution, status=PauseStatus.WAITING)
    if sequence is not None:
        qs = qs.filter(sequence=sequence)
    pause = qs.order_by("-sequence").first()
    if pause is None:
        raise Conflict(f"execution {execution_id} has no such wait")
    return execution, pause


def _resume(
    *,
    execution: Execution,
    pause: ExecutionPause,
    trigger: str,
    data: Any = None,
    user: UserLike = None,
    comment: str = "",
    decision: str = "resumed",
    by: str | None = None,
    not_before: float | None = None,
    dispatch: Callable[[int], None] | None = None,
) -> Execution:
    """Continue a locked waiting execution (caller holds the locks from :func:`_waiting_pause`).

    After the commit the run is queued for a worker, ahead of the backlog, or handed to
    ``dispatch`` (the timer process runs due continuations itself).
    """
    now = timezone.now()
    state = dict(execution.state or {})
    stack = [dict(task) for task in state.get("stack") or []]
    if not stack or stack[-1].get("node") != pause.node_name:
        _fail_waiting(execution, pause, f"The saved state of the wait at {pause.node_name!r} is corrupted", now)
        return execution
    username = by or (user.get_username() if user is not None and user.is_authenticated else "")
    stack[-1]["resume"] = {
        "trigger": trigger,
        "data": data,
        "by": username,
        "at": now.isoformat(),
        "comment": comment,
        "decision": decision,
        "gate": bool(pause.metadata.get("gate")),
        "not_before": not_before,
        **({"retry": pause.metadata["retry"]} if pause.metadata.get("retry") else {}),
    }
    state["stack"] = stack
    state["pause"] = None
    pause.status = PauseStatus.RESUMED
    pause.resumed_at = now
    pause.resume_trigger = trigger
    pause.resumed_by = user if isinstance(user, User) else None
    pause.decision = decision
    pause.comment = comment
    pause.resume_data = data
    pause.save(
        update_fields=["status", "resumed_at", "resume_trigger", "resumed_by", "decision", "comment", "resume_data"]
    )
    ResumeWebhook.objects.filter(pause=pause, used_at__isnull=True).update(used_at=now)
    execution.state = state
    set_status(execution, ExecutionStatus.RUNNING)
    execution.lease_owner = ""  # released: the first worker to claim it continues the run
    execution.lease_expires_at = now + dt.timedelta(seconds=settings.BUDFLOW["LEASE_SECONDS"])
    execution.wait_till = None
    execution.enqueued_at = now
    execution.save(update_fields=["state", "status", "lease_owner", "lease_expires_at", "wait_till", "enqueued_at"])
    event = execution_event_data(execution)
    event.update({"node": pause.node_name, "trigger": trigger, "decision": decision, "by": username})
    events_record(execution_id=execution.pk, events=[("execution_resumed", event, now)])
    run = dispatch or partial(enqueue_execution, urgent=True)
    transaction.on_commit(lambda: run(execution.pk))
    return execution


def _fail_waiting(
    execution: Execution,
    pause: ExecutionPause,
    message: str,
    now: dt.datetime,
    *,
    status: str = PauseStatus.EXPIRED,
    user: UserLike = None,
    comment: str = "",
    trigger: str = "",
    error_type: str = "WaitFailed",
) -> None:
    """End a waiting execution as ``error`` without running anything after the wait."""
    error = {"message": message, "type": error_type, "node": pause.node_name}
    pause.status = status
    pause.resumed_at = now
    pause.resume_trigger = trigger
    pause.resumed_by = user if isinstance(user, User) else None
    pause.decision = "rejected" if status == PauseStatus.REJECTED else status
    pause.comment = comment
    pause.save(update_fields=["status", "resumed_at", "resume_trigger", "resumed_by", "decision", "comment"])
    ResumeWebhook.objects.filter(pause=pause, used_at__isnull=True).update(used_at=now)
    NodeRun.objects.filter(
        execution=execution, node_name=pause.node_name, run_index=pause.run_index, status=NodeRunStatus.WAITING
    ).update(status=NodeRunStatus.ERROR, error=error)
    set_status(execution, ExecutionStatus.ERROR)
    execution.error = error
    execution.stopped_at = now
    execution.wait_till = None
    execution.save(update_fields=["status", "error", "stopped_at", "wait_till"])
    node_event = {
        "node_name": pause.node_name,
        "node_type": "",
        "run_index": pause.run_index,
        "execution_index": None,
        "status": "error",
        "start_time": None,
        "execution_time_ms": None,
        "items": [],
        "error": {"message": message, "type": error_type},
    }
    events_record(
        execution_id=execution.pk,
        events=[("node_error", node_event, now), ("execution_finished", execution_event_data(execution), now)],
    )
    error_workflow_on_commit(execution=execution)
    subworkflow_ended_on_commit(execution=execution)


def _validated(pause: ExecutionPause, data: Any) -> Any:
    schema = (pause.metadata or {}).get("input_schema")
    if schema and pause.pause_type == PauseType.MANUAL:
        try:
            jsonschema.validate(data if data is not None else {}, schema)
        except jsonschema.ValidationError as exc:
            where = "data" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in exc.absolute_path)
            raise InvalidInput(f"{where}: {exc.message}", field="data") from None
        except jsonschema.SchemaError as exc:
            raise InvalidInput(f"the wait's inputSchema is invalid: {exc.message}", field="data") from None
    return data


def pause_resume(
    *,
    execution: Execution,
    user: UserLike,
    data: Any = None,
    node: str | None = None,
    trigger: str = ResumeTrigger.API,
    comment: str = "",
) -> Execution:
    """Resume a waiting execution with optional data (manual waits; any wait for owner and staff)."""
    with transaction.atomic():
        locked, pause = _waiting_pause(execution.pk, None)
        if node and node != pause.node_name:
            raise InvalidInput(f"the execution waits at {pause.node_name!r}, not {node!r}", field="node")
        if pause.pause_type == PauseType.SUBWORKFLOW:
            raise Conflict(
                f"execution {execution.pk} waits for its sub-workflow executions "
                f"({', '.join(map(str, pause.metadata.get('awaiting') or []))}); resume or stop those"
            )
        if pause.pause_type == PauseType.APPROVAL:
            return _resume(
                execution=locked,
                pause=pause,
                trigger=trigger,
                data=data,
                user=user,
                comment=comment,
                decision="approved",
            )
        return _resume(
            execution=locked, pause=pause, trigger=trigger, data=_validated(pause, data), user=user, comment=comment
        )


def pause_approve(
    *, execution: Execution, user: UserLike, data: Any = None, comment: str = "", trigger: str = ResumeTrigger.API
) -> Execution:
    """Approve a waiting approval: the run continues (items gain ``approval``)."""
    with transaction.atomic():
        locked, pause = _waiting_pause(execution.pk, None)
        if pause.pause_type != PauseType.APPROVAL:
            raise Conflict(f"execution {execution.pk} waits for a {pause.pause_type} resume, not an approval")
        return _resume(
            execution=locked, pause=pause, trigger=trigger, data=data, user=user, comment=comment, decision="approved"
        )


def pause_reject(
    *, execution: Execution, user: UserLike, comment: str = "", trigger: str = ResumeTrigger.API
) -> Execution:
    """Reject a waiting approval: the execution ends ``error`` and nothing downstream runs."""
    with transaction.atomic():
        locked, pause = _waiting_pause(execution.pk, None)
        if pause.pause_type != PauseType.APPROVAL:
            raise Conflict(f"execution {execution.pk} waits for a {pause.pause_type} resume, not an approval")
        who = user.get_username() if user is not None and user.is_authenticated else "unknown"
        message = f"rejected by {who}: {comment}" if comment else f"rejected by {who}"
        _fail_waiting(
            locked,
            pause,
            message,
            timezone.now(),
            status=PauseStatus.REJECTED,
            user=user,
            comment=comment,
            trigger=trigger,
            error_type="ApprovalRejected",
        )
        return locked


# -- resume webhooks ----------------------------------------------------------------------
def _parse(token: str) -> tuple[int, int, str] | None:
    parts = token.split("-", 2)
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18:
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def pause_lookup_by_token(*, token: str) -> tuple[Execution, ExecutionPause]:
    """The wait a resume URL names; forged → 404, used/expired/over → 410."""
    parsed = _parse(token)
    if parsed is None:
        raise NotFound("Not found")
    execution_id, sequence, signature = parsed
    execution = Execution.objects.filter(pk=execution_id).only("pk", "resume_secret", "status").first()
    if execution is None or not hmac.compare_digest(signature, mac(execution_id, sequence, execution.resume_secret)):
        raise NotFound("Not found")
    pause = ExecutionPause.objects.filter(execution_id=execution_id, sequence=sequence).first()
    hook = ResumeWebhook.objects.filter(pause=pause).first() if pause else None
    if pause is None or hook is None or pause.status != PauseStatus.WAITING or hook.used_at is not None:
        raise Gone("This resume URL is no longer valid")
    if execution.status != ExecutionStatus.WAITING:
        raise Gone("This resume URL is no longer valid")
    if hook.expires_at and hook.expires_at <= timezone.now():
        raise Gone("This resume URL is no longer valid")
    return execution, pause


def form_values(fields: list[dict[str, Any]], submitted: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A form wait's submitted values keyed by label (numbers converted), and errors by label."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        label = field["fieldLabel"]
        value = submitted.get(label, "")
        if field.get("fieldType") == "number" and value not in ("", None):
            try:
                value = float(value) if "." in str(value) else int(value)
            except ValueError:
                errors[label] = "Enter a number."
        if field.get("requiredField") and value in ("", None, []):
            errors[label] = "This field is required."
        values[label] = value
    return values, errors


def pause_webhook_call(*, token: str, method: str, request_item: dict[str, Any], form: bool = False) -> Execution:
    """A call on ``/webhook-waiting/{token}``: resumes the wait with the request as its item."""
    execution, pause = pause_lookup_by_token(token=token)
    expected = ResumeWebhook.objects.get(pause=pause).expected_method
    if pause.pause_type == PauseType.WEBHOOK and method != expected:
        raise MethodNotAllowed(f"this resume URL expects {expected} requests")
    with transaction.atomic():
        try:
            locked, current = _waiting_pause(execution.pk, pause.sequence)
        except Conflict:
            raise Gone("This resume URL is no longer valid") from None
        trigger = ResumeTrigger.FORM if form else ResumeTrigger.WEBHOOK
        return _resume(execution=locked, pause=current, trigger=trigger, data=request_item, by="webhook")


# -- timers ------------------------------------------------------------------------------
def _lead() -> dt.timedelta:
    return dt.timedelta(milliseconds=settings.BUDFLOW["TIMER_LEAD_MS"])


def pauses_next_due() -> dt.datetime | None:
    """When the timer loop must next act: a time wait's due time minus the lead, or a timeout."""
    waiting = ExecutionPause.objects.filter(status=PauseStatus.WAITING, due_at__isnull=False).order_by("due_at")
    timed = waiting.filter(pause_type=PauseType.TIME).values_list("due_at", flat=True).first()
    other = waiting.exclude(pause_type=PauseType.TIME).values_list("due_at", flat=True).first()
    candidates = [d for d in (timed - _lead() if timed else None, other) if d is not None]
    return min(candidates) if candidates else None


def pauses_fire_due(*, limit: int = 200, dispatch: Callable[[int], None] | None = None) -> list[int]:
    """Resume (or time out) every wait whose due time has come; returns the execution ids.

    Time waits are handed to a worker up to ``TIMER_LEAD_MS`` early, carrying their due time:
    the worker restores the run meanwhile and starts the next node on time, so the queue hop
    and the restore do not make the wait late. Timeouts fire only once due.
    """
    now = timezone.now()
    fired: list[int] = []
    due = list(
        ExecutionPause.objects.filter(
            Q(due_at__lte=now) | Q(pause_type=PauseType.TIME, due_at__lte=now + _lead()),
            status=PauseStatus.WAITING,
        )
        .order_by("due_at")
        .values_list("execution_id", "sequence")[:limit]
    )
    for execution_id, sequence in due:
        try:
            with transaction.atomic():
                execution, pause = _waiting_pause(execution_id, sequence)
                _timeout_or_resume(execution, pause, now, dispatch)
            fired.append(execution_id)
        except (Conflict, NotFound):
            continue  # another claimer won, or it was resumed meanwhile
    return fired


def _timeout_or_resume(
    execution: Execution, pause: ExecutionPause, now: dt.datetime, dispatch: Callable[[int], None] | None = None
) -> None:
    if pause.pause_type == PauseType.TIME:
        not_before = pause.due_at.timestamp() if pause.due_at and pause.due_at > now else None
        _resume(
            execution=execution,
            pause=pause,
            trigger=ResumeTrigger.TIMER,
            by="timer",
            not_before=not_before,
            dispatch=dispatch,
        )
        return
    if pause.pause_type != PauseType.APPROVAL:
        _resume(
            execution=execution,
            pause=pause,
            trigger=ResumeTrigger.TIMEOUT,
            by="timeout",
            decision="timeout",
            dispatch=dispatch,
        )
        return
    on_timeout = (pause.metadata or {}).get("on_timeout", "fail")
    if on_timeout == "approve":
        _resume(
            execution=execution,
            pause=pause,
            trigger=ResumeTrigger.TIMEOUT,
            by="timeout",
            decision="approved",
            dispatch=dispatch,
        )
    elif on_timeout == "reject":
        _fail_waiting(
            execution,
            pause,
            "rejected by timeout",
            now,
            status=PauseStatus.REJECTED,
            trigger=ResumeTrigger.TIMEOUT,
            error_type="ApprovalRejected",
        )
    else:
        _fail_waiting(
            execution,
            pause,
            "The approval timed out",
            now,
            status=PauseStatus.EXPIRED,
            trigger=ResumeTrigger.TIMEOUT,
            error_type="ApprovalTimeout",
        )


def pauses_cancel(*, execution: Execution) -> None:
    """Mark an execution's open waits canceled (the execution is being stopped)."""
    now = timezone.now()
    pauses = ExecutionPause.objects.filter(execution=execution, status=PauseStatus.WAITING)
    ResumeWebhook.objects.filter(pause__in=pauses, used_at__isnull=True).update(used_at=now)
    NodeRun.objects.filter(execution=execution, status=NodeRunStatus.WAITING).update(status=NodeRunStatus.CANCELED)
    pauses.update(status=PauseStatus.CANCELED, resumed_at=now, decision="canceled")
