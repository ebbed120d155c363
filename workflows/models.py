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
