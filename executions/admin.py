from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from executions.models import Execution, NodeRun


class NodeRunInline(admin.TabularInline):
    model = NodeRun
    extra = 0
    can_delete = False
    fields = [
        "execution_index",
        "node_name",
        "run_index",
        "status",
        "started_at",
        "execution_time_ms",
        "item_counts",
        "error",
    ]
    readonly_fields = fields
    ordering = ["execution_index"]

    @admin.display(description="items per output")
    def item_counts(self, obj: NodeRun) -> str:
        return ", ".join(str(len(out)) for out in (obj.output or [])) or "-"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    """Read-only: executions change only through services."""

    list_display = ["id", "workflow", "status", "mode", "execution_mode", "started_at", "stopped_at"]
    list_filter = ["status", "mode", "execution_mode"]
    search_fields = ["workflow__name"]
    inlines = [NodeRunInline]
    exclude = ["state"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Execution._meta.fields if f.name != "state"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
