"""Workflow definitions (n8n-compatible JSON)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models, transaction


class Workflow(models.Model):
    """A workflow: n8n-format ``nodes`` / ``connections`` / ``settings`` owned by a user.

    ``version`` increases on every change of the graph, so an execution's snapshot says which
    definition it ran.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=False)
    nodes = models.JSONField(default=list)
    connections = models.JSONField(default=dict)
    settings = models.JSONField(default=dict)
    static_data = models.JSONField(default=dict, blank=True)
    n8n_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        help_text="Id of the workflow in n8n when imported (an alias for references).",
    )
    version = models.PositiveIntegerField(default=1)
    # The stored snapshot of the current definition: executions refer to it instead of copying it.
    current_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["owner", "-id"])]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, then point ``current_version`` at the snapshot of what was saved."""
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.sync_version()

    def snapshot_id(self) -> str:
        """The id of the stored snapshot of the current definition (what a new run refers to)."""
        if self.current_version_id is None:
            self.sync_version()
        assert self.current_version_id is not None
        return self.current_version_id

    def sync_version(self) -> WorkflowVersion:
        """The stored snapshot of the definition as it is now (created when new)."""
        version = WorkflowVersion.of(self.snapshot(), self)
        if version.pk != self.current_version_id:
            Workflow.objects.filter(pk=self.pk).update(current_version=version)
            self.current_version = version
        return version

    def snapshot(self) -> dict[str, Any]:
        """The definition an execution runs and keeps (retries "with original workflow" use it)."""
        return {
            "id": self.pk,
            "name": self.name,
            "active": self.active,
            "version": self.version,
            "nodes": self.nodes,
            "connections": self.connections,
            "settings": self.settings,
        }


class WorkflowVersion(models.Model):
    """An immutable snapshot of a workflow's definition (``Workflow.snapshot()``), stored once.

    Executions refer to the version they ran, so starting a run writes no copy of a large
    workflow. The id is the workflow's id and the snapshot's SHA-256: an id always means the
    same content, so processes cache versions by id without ever checking them again.
    """

    id = models.CharField(primary_key=True, max_length=90, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    snapshot = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.id

    @staticmethod
    def checksum_of(snapshot: dict[str, Any]) -> str:
        text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def of(cls, snapshot: dict[str, Any], workflow: Workflow) -> WorkflowVersion:
        """The stored version holding ``snapshot`` (stored now when it is new)."""
        version, _ = cls.objects.get_or_create(
            id=f"{workflow.pk}-{cls.checksum_of(snapshot)}", defaults={"workflow": workflow, "snapshot": snapshot}
        )
        return version


class WebhookRoute(models.Model):
    """A production webhook of an active workflow: ``METHOD /webhook/{path}``.

    Rows exist only while the workflow is active; the unique constraint makes two active
    workflows unable to claim one method and path, whatever races their activations run.
    Segments starting with ``:`` match any value (``user/:id``).
    """

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="webhook_routes")
    node_name = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    is_dynamic = models.BooleanField(default=False)
    segments = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["method", "path"], name="webhook_route_unique")]
        indexes = [models.Index(fields=["is_dynamic", "segments"])]

    def __str__(self) -> str:
        return f"{self.method} /webhook/{self.path}"


class TriggerSchedule(models.Model):
    """When the Schedule Trigger of an active workflow fires next (claimed by the timer process)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="schedules")
    node_name = models.CharField(max_length=200)
    crons = models.JSONField(default=list)
    timezone = models.CharField(max_length=64, default="UTC")
    next_run_at = models.DateTimeField(db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "node_name"], name="schedule_unique_node")]

    def __str__(self) -> str:
        return f"{self.workflow_id}:{self.node_name} next {self.next_run_at:%Y-%m-%d %H:%M:%S}"


VARIABLE_KEY_MAX = 50
VARIABLE_VALUE_MAX = 1000


class Variable(models.Model):
    """An instance variable, read by every workflow as ``$vars.<key>`` and changed only by staff.

    Keys follow n8n's variables: letters, digits and underscores, at most 50 characters.
    """

    key = models.CharField(
        max_length=VARIABLE_KEY_MAX,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Za-z0-9_]+$", "Only letters, digits and underscores (A-Z, a-z, 0-9, _) are allowed.")
        ],
    )
    value = models.TextField(blank=True, default="", validators=[MaxLengthValidator(VARIABLE_VALUE_MAX)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key
