from __future__ import annotations

from typing import Any

from rest_framework import serializers

from workflows.models import Workflow


class WorkflowSerializer(serializers.ModelSerializer):
    """Shape only; the graph is validated by ``workflows.services``."""

    owner = serializers.CharField(source="owner.username", read_only=True)
    nodes = serializers.JSONField(required=False)
    connections = serializers.JSONField(required=False)
    settings = serializers.JSONField(required=False)
    active = serializers.BooleanField(required=False)

    class Meta:
        model = Workflow
        fields = [
            "id",
            "name",
            "active",
            "nodes",
            "connections",
            "settings",
            "version",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "owner", "created_at", "updated_at"]

    def to_representation(self, instance: Workflow) -> dict[str, Any]:
        return super().to_representation(instance)
