"""Executions, their node runs and their event log."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

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
    SubWorkflowStatus,
)
from workflows.engine.graph import Graph
from workflows.models import Workflow, WorkflowVersion


def _new_secret() -> str:
    return secrets.token_hex(16)


_SNAPSHOTS: OrderedDict[str, dict[str, Any]] = OrderedDict()
_SNAPSHOTS_KEPT = 64
_SNAPSHOTS_LOCK = threading.Lock()
_GRAPHS: OrderedDict[str, Graph] = OrderedDict()


def version_graph(version_id: str) -> Graph:
    """The graph of a workflow version, built once per process (versions never change)."""
    with _SNAPSHOTS_LOCK:
        graph = _GRAPHS.get(version_id)
        if graph is not None:
            _GRAPHS.move_to_end(version_id)
            return graph
    snapshot = version_snapshot(version_id)
    graph = Graph(snapshot["nodes"], snapshot["connections"])
    with _SNAPSHOTS_LOCK:
        _GRAPHS[version_id] = graph
        while len(_GRAPHS) > _SNAPSHOTS_KEPT:
            _GRAPHS.popitem(last=False)
    return graph


def version_snapshot(version_id: str) -> dict[str, Any]:
    """A workflow version's snapshot, cached by id in this process (an id names one content).

    Callers must not modify the returned dict.
    """
    with _SNAPSHOTS_LOCK:
        snapshot = _SNAPSHOTS.get(version_id)
        if snapshot is not None:
            _SNAPSHOTS.move_to_end(version_id)
            return snapshot
    loaded: dict[str, Any] = WorkflowVersion.objects.values_list("snapshot", flat=True).get(pk=version_id)
    with _SNAPSHOTS_LOCK:
        _SNAPSHOTS[version_id] = loaded
        while len(_SNAPSHOTS) > _SNAPSHOTS_KEPT:
            _SNAPSHOTS.popitem(last=False)
    return loaded


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
    # A partial run's reused runs: node name → id of the execution whose NodeRun rows hold them
    # (always the execution that ran the node, never a chain). Read through the selectors.
    reused_runs = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)
    state = models.JSONField(null=True, blank=True)
    # The definition it runs (immutable; read through ``workflow_snapshot``).
    workflow_version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="+")
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    recoveries = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    last_sequence = models.PositiveIntegerField(default=0)
    # Keys the resume URLs of this execution's waits (with SECRET_KEY): unguessable from ids alone.
    resume_secret = models.CharField(max_length=64, default=_new_secret, editable=False)
    # Pruning soft-deletes first (hidden from the API at once), then deletes the row for good
    # ``PRUNE_HARD_DELETE_BUFFER_HOURS`` later (``executions.services.pruning``).
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When a concurrency limit first kept this ``new`` execution from starting (it waits in the
    # first-in, first-out queue of ``executions.services.concurrency``); ``None`` otherwise.
    held_at = models.DateTimeField(null=True, blank=True)

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
    def workflow_snapshot(self) -> dict[str, Any]:
        """The definition this execution runs (``Workflow.snapshot()`` when it was created)."""
        return version_snapshot(self.workflow_version_id)

    @property
    def queued(self) -> bool:
        """Held back by a concurrency limit: ``new`` until a slot frees."""
        return self.status == ExecutionStatus.NEW and self.held_at is not None

    @property
    def root_mode(self) -> str:
        """The mode of the top of a sub-workflow chain or of the original of a retry."""
        stack = self.execution_stack or []
        if stack and isinstance(stack[0], dict) and stack[0].get("mode"):
            return str(stack[0]["mode"])
        return self.mode


class NodeRun(models.Model):
    """One run of one node in one execution (run data lives here, not in one blob).

    A partial run stores no rows for the runs it reuses: ``Execution.reused_runs`` refers to the
    executions holding them.
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
    pause_type = models.CharField(max_length=16, choices=PauseType.choices)
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
    resume_trigger = models.CharField(max_length=16, choices=ResumeTrigger.choices, blank=True, default="")
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


class SubWorkflowExecution(models.Model):
    """One call of a sub-workflow by an Execute Workflow node (blueprint section 5).

    The child is a real execution (mode ``integrated``, ``parent_execution`` = the caller); this
    row keeps what the call was: the node, its input, its configuration and what came back.
    ``status`` is the call as the parent sees it: ``running`` while the parent's worker runs the
    child, ``waiting`` while the child (and so the parent) waits, ``queued`` for a child not
    awaited; each becomes the child's outcome when it ends.
    """

    parent_execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="subworkflow_calls")
    child_execution = models.OneToOneField(Execution, on_delete=models.CASCADE, related_name="subworkflow_call")
    node_name = models.CharField(max_length=200)
    run_index = models.PositiveIntegerField(default=0)
    item_index = models.PositiveIntegerField(null=True, blank=True, help_text="`each` mode: the input item")
    input_data = models.JSONField(default=list, blank=True)
    output_data = models.JSONField(null=True, blank=True)
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=SubWorkflowStatus.choices, default=SubWorkflowStatus.RUNNING)
    error_details = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["parent_execution", "node_name", "run_index"])]

    def __str__(self) -> str:
        return f"{self.node_name} of execution {self.parent_execution_id} → execution {self.child_execution_id}"
