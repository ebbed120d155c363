"""Workflow definitions (n8n-compatible JSON)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["owner", "-id"])]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"

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
