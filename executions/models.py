"""Executions, their node runs and their event log."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from executions.choices import (
    ExecutionMode,
    ExecutionStatus,
    NodeRunStatus,
    PauseStatus,
    PauseType,
    ResumeTrigger,
    RunKind,
)
from workflows.models import Workflow


def _new_secret() -> str:
    return secrets.token_hex(16)


class Execution(models.Model):
    """One run of a workflow.

    The serialised engine ``state`` plus the committed :class:`NodeRun` rows are everything
    needed to continue the run (after a pause, a crash or for a retry). ``status`` is written
    only by ``executions.services``. The lease (``lease_owner`` / ``lease_expires_at``) says which
    worker is running it; the timer process's sweeper takes over expired leases.
    """

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="executions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.NEW)
    mode = models.CharField(max_length=16, choices=ExecutionMode.choices, default=ExecutionMode.MANUAL)
    execution_mode = models.CharField(max_length=8, choices=RunKind.choices, default=RunKind.FULL)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    wait_till = models.DateTimeField(null=True, blank=True)
    trigger_node = models.CharField(max_length=200, blank=True, default="")
    start_node = models.CharField(max_length=200, blank=True, default="", db_index=True)
    destination_node = models.CharField(max_length=200, blank=True, default="")
    destination_mode = models.CharField(max_length=10, blank=True, default="inclusive")
    last_node_executed = models.CharField(max_length=200, blank=True, default="")
    parent_execution = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_executions",
        help_text="A partial run: the execution it reused. A sub-workflow: its caller.",
    )
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    retry_success = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    triggered_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    execution_depth = models.PositiveSmallIntegerField(default=0)
    execution_stack = models.JSONField(default=list, blank=True)
    custom_data = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)
    state = models.JSONField(null=True, blank=True)
    workflow_snapshot = models.JSONField(default=dict)
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    recoveries = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    last_sequence = models.PositiveIntegerField(default=0)
    # Keys the resume URLs of this execution's waits (with SECRET_KEY): unguessable from ids alone.
    resume_secret = models.CharField(max_length=64, default=_new_secret, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["workflow", "-id"]),
            models.Index(fields=["status", "lease_expires_at"]),
            models.Index(fields=["status", "enqueued_at"]),
        ]
        permissions = [("approve_pause", "Can approve or reject waiting executions")]

    def __str__(self) -> str:
        return f"Execution #{self.pk} ({self.status})"

    @property
    def root_mode(self) -> str:
        """The mode of the top of a sub-workflow chain or of the original of a retry."""
        stack = self.execution_stack or []
        if stack and isinstance(stack[0], dict) and stack[0].get("mode"):
            return str(stack[0]["mode"])
        return self.mode


class NodeRun(models.Model):
    """One run of one node in one execution (run data lives here, not in one blob).

    ``reused_from`` points at the row of an earlier execution whose output a partial run reuses
    instead of copying it.
    """

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="node_runs")
    node_name = models.CharField(max_length=200)
    node_type = models.CharField(max_length=200)
    run_index = models.PositiveIntegerField()
    execution_index = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=NodeRunStatus.choices)
    started_at = models.DateTimeField()
    execution_time_ms = models.FloatField(default=0.0)
    source = models.JSONField(default=list)
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["execution_index"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "node_name", "run_index"], name="noderun_unique_run"),
        ]

    def __str__(self) -> str:
        return f"{self.node_name}#{self.run_index} ({self.status})"


class ExecutionEvent(models.Model):
    """The execution's event log: ``sequence`` starts at 1 and grows by one, so gaps can be replayed."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    type = models.CharField(max_length=32)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["execution", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "sequence"], name="event_unique_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence}"


class WebhookListener(models.Model):
    """A manual execution listening on ``/webhook-test/{path}`` for one call (until ``expires_at``)."""

    execution = models.OneToOneField(Execution, on_delete=models.CASCADE, related_name="webhook_listener")
    node_name = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500, db_index=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.method} /webhook-test/{self.path} → execution {self.execution_id}"


class ExecutionPause(models.Model):
    """One wait of an execution (blueprint section 2): what it waits for and how it ended.

    ``sequence`` is the execution's pause counter, so a resume URL handed out before the wait
    is bound to exactly this wait. ``due_at`` is when the timer process acts (a timed resume,
    or a timeout); the row is the durable timer.
    """

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="pauses")
    sequence = models.PositiveIntegerField()
    pause_type = models.CharField(max_length=10, choices=PauseType.choices)
    status = models.CharField(max_length=10, choices=PauseStatus.choices, default=PauseStatus.WAITING)
    node_name = models.CharField(max_length=200)
    run_index = models.PositiveIntegerField(default=0)
    serialized_state = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict, blank=True)
    approver_list = models.CharField(
        max_length=2000, blank=True, default="", help_text="`,name,group:x,` so approvers can be matched in SQL"
    )
    resume_data = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True)
    resume_trigger = models.CharField(max_length=10, choices=ResumeTrigger.choices, blank=True, default="")
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=10, blank=True, default="")
    comment = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["execution", "sequence"], name="pause_unique_sequence")]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.pause_type} wait #{self.sequence} of execution {self.execution_id} ({self.status})"

    @property
    def approvers(self) -> list[str]:
        return list(self.metadata.get("approvers") or [])


class WaitingApproval(ExecutionPause):
    """Admin proxy: the "Waiting approvals" screen (waiting pauses, approvals first)."""

    class Meta:
        proxy = True
        verbose_name = "waiting approval"
        verbose_name_plural = "waiting approvals"


class ResumeWebhook(models.Model):
    """The resume URL of a ``webhook`` or ``form`` wait: one call, before it expires."""

    pause = models.OneToOneField(ExecutionPause, on_delete=models.CASCADE, related_name="resume_webhook")
    token_hash = models.CharField(max_length=64, unique=True)
    expected_method = models.CharField(max_length=8, default="POST")
    expected_schema = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"resume webhook of {self.pause}"
