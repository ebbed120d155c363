"""Pinned node outputs: mock a node's output for test runs (blueprint section 4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from workflows.models import Workflow


class PinDataType(models.TextChoices):
    SAMPLE = "sample", "Sample"
    TEST = "test", "Test"
    MOCK = "mock", "Mock"
    STATIC = "static", "Static"


class PinData(models.Model):
    """Items a node outputs (on ``output_index``) instead of running, in test runs.

    One active pin per (workflow, node, output), enforced by a partial unique constraint;
    replacing or deleting a pin deactivates the old row (soft delete, ``deleted_at``), so past
    usage rows keep pointing at what was used. ``data`` is stored as given after validation
    and masking; facts about it (sizes, schema, masked keys) live in ``metadata``, never in
    the items.
    """

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="pins")
    node_name = models.CharField(max_length=200)
    output_index = models.PositiveSmallIntegerField(default=0)
    data = models.JSONField()
    data_type = models.CharField(max_length=8, choices=PinDataType.choices, default=PinDataType.SAMPLE)
    checksum = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metadata = models.JSONField(default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workflow", "node_name", "output_index", "-id"]
        verbose_name = "pin data"
        verbose_name_plural = "pin data"
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "node_name", "output_index"],
                condition=Q(is_active=True),
                name="pin_one_active_per_output",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"pin of {self.node_name}[{self.output_index}] in workflow {self.workflow_id}"


class PinDataUsage(models.Model):
    """A pin an execution used instead of running the node."""

    pin = models.ForeignKey(PinData, on_delete=models.CASCADE, related_name="usages")
    execution = models.ForeignKey("executions.Execution", on_delete=models.CASCADE, related_name="pin_usages")
    node_name = models.CharField(max_length=200)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["execution"])]

    def __str__(self) -> str:
        return f"{self.node_name} pinned in execution {self.execution_id}"
