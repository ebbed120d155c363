"""Execution statuses and modes, with the groups rules are written against."""

from __future__ import annotations

from django.db import models


class ExecutionStatus(models.TextChoices):
    NEW = "new", "New"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    SUCCESS = "success", "Success"
    ERROR = "error", "Error"
    CANCELED = "canceled", "Canceled"
    CRASHED = "crashed", "Crashed"


TERMINAL = frozenset(
    {ExecutionStatus.SUCCESS, ExecutionStatus.ERROR, ExecutionStatus.CANCELED, ExecutionStatus.CRASHED}
)
ACTIVE = frozenset({ExecutionStatus.NEW, ExecutionStatus.RUNNING, ExecutionStatus.WAITING})
RETRYABLE = frozenset({ExecutionStatus.ERROR, ExecutionStatus.CANCELED, ExecutionStatus.CRASHED})

# The one table of allowed status changes; services refuse anything else.
TRANSITIONS: dict[str, frozenset[str]] = {
    ExecutionStatus.NEW: frozenset(
        {ExecutionStatus.RUNNING, ExecutionStatus.CANCELED, ExecutionStatus.ERROR, ExecutionStatus.CRASHED}
    ),
    ExecutionStatus.RUNNING: frozenset(
        {
            ExecutionStatus.RUNNING,
            ExecutionStatus.WAITING,
            ExecutionStatus.SUCCESS,
            ExecutionStatus.ERROR,
            ExecutionStatus.CANCELED,
            ExecutionStatus.CRASHED,
        }
    ),
    ExecutionStatus.WAITING: frozenset(
        {ExecutionStatus.RUNNING, ExecutionStatus.CANCELED, ExecutionStatus.ERROR, ExecutionStatus.CRASHED}
    ),
    ExecutionStatus.SUCCESS: frozenset(),
    ExecutionStatus.ERROR: frozenset(),
    ExecutionStatus.CANCELED: frozenset(),
    ExecutionStatus.CRASHED: frozenset(),
}


class ExecutionMode(models.TextChoices):
    MANUAL = "manual", "Manual"
    TRIGGER = "trigger", "Trigger"
    WEBHOOK = "webhook", "Webhook"
    ERROR = "error", "Error workflow"
    RETRY = "retry", "Retry"
    INTEGRATED = "integrated", "Sub-workflow"
    CLI = "cli", "Command line"
    INTERNAL = "internal", "Internal"
    TEST = "test", "Test"


TEST_MODES = frozenset({ExecutionMode.MANUAL, ExecutionMode.TEST})
PRODUCTION_MODES = frozenset(set(ExecutionMode) - TEST_MODES)
# Modes a production concurrency limit applies to (as n8n: runs started by a webhook or a
# trigger; never manual, test, sub-workflow, error, retry, CLI or internal runs).
CONCURRENCY_LIMITED_MODES = frozenset({ExecutionMode.WEBHOOK, ExecutionMode.TRIGGER})


class RunKind(models.TextChoices):
    """Whether an execution ran the whole workflow or a part reusing stored outputs."""

    FULL = "full", "Full"
    PARTIAL = "partial", "Partial"


class NodeRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    ERROR = "error", "Error"
    WAITING = "waiting", "Waiting"
    CANCELED = "canceled", "Canceled"


class PauseType(models.TextChoices):
    TIME = "time", "Time"
    WEBHOOK = "webhook", "Webhook"
    FORM = "form", "Form"
    MANUAL = "manual", "Manual"
    APPROVAL = "approval", "Approval"
    SUBWORKFLOW = "subworkflow", "Sub-workflow executions"


class PauseStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    RESUMED = "resumed", "Resumed"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    CANCELED = "canceled", "Canceled"


class ResumeTrigger(models.TextChoices):
    TIMER = "timer", "Timer"
    WEBHOOK = "webhook", "Webhook call"
    FORM = "form", "Form submission"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    TIMEOUT = "timeout", "Timeout"
    SUBWORKFLOW = "subworkflow", "Sub-workflow executions ended"


class SubWorkflowStatus(models.TextChoices):
    """A sub-workflow call as its parent saw it (the child's own status is on its execution)."""

    RUNNING = "running", "Running"
    QUEUED = "queued", "Queued (not awaited)"
    WAITING = "waiting", "Waiting (the parent waits too)"
    SUCCESS = "success", "Success"
    ERROR = "error", "Error"
    CANCELED = "canceled", "Canceled"


# Calls whose child has not ended, and that the child's end settles (a ``running`` call is
# settled by the parent's own worker, which runs that child in place).
SUBWORKFLOW_PENDING = frozenset({SubWorkflowStatus.QUEUED, SubWorkflowStatus.WAITING})
