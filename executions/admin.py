"""Admin: read-only executions with their node runs and wait audit trail, and the
"Waiting approvals" screen where operators approve, reject or resume waiting runs.

Every button calls the same services as the API.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from executions.choices import ExecutionMode, ExecutionStatus, PauseStatus, PauseType, ResumeTrigger
from executions.models import Execution, ExecutionPause, NodeRun, SubWorkflowExecution, WaitingApproval
from executions.selectors import paused_items, retry_chain
from executions.services import execution_stop
from executions.services.pauses import pause_approve, pause_reject, pause_resume
from executions.services.retries import execution_retry
from workflows.errors import ServiceError


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


class PauseInline(admin.TabularInline):
    """The audit trail of waits: who decided, when, and what they said."""

    model = ExecutionPause
    extra = 0
    can_delete = False
    verbose_name = "wait"
    verbose_name_plural = "waits and decisions"
    fields = [
        "sequence",
        "pause_type",
        "node_name",
        "status",
        "created_at",
        "resumed_at",
        "resume_trigger",
        "resumed_by",
        "decision",
        "comment",
    ]
    readonly_fields = fields
    ordering = ["sequence"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SubWorkflowCallInline(admin.TabularInline):
    """The sub-workflow executions this execution called (each child links back: parent execution)."""

    model = SubWorkflowExecution
    fk_name = "parent_execution"
    extra = 0
    can_delete = False
    verbose_name = "sub-workflow call"
    verbose_name_plural = "sub-workflow calls"
    fields = ["child_link", "node_name", "item_index", "status", "started_at", "completed_at", "error_details"]
    readonly_fields = fields
    ordering = ["id"]

    @admin.display(description="child execution")
    def child_link(self, obj: SubWorkflowExecution) -> str:
        url = reverse("admin:executions_execution_change", args=[obj.child_execution_id])
        return format_html('<a href="{}">Execution #{}</a>', url, obj.child_execution_id)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    """Read-only: executions change only through services (the cancel action calls one)."""

    list_display = ["id", "workflow", "status", "mode", "execution_mode", "started_at", "stopped_at", "live_link"]
    list_filter = ["status", "mode", "execution_mode"]
    search_fields = ["workflow__name"]
    inlines = [PauseInline, SubWorkflowCallInline, NodeRunInline]
    exclude = ["state"]
    actions = ["cancel_executions", "retry_from_failed_node", "retry_from_start"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [f.name for f in Execution._meta.fields if f.name not in ("state", "resume_secret")]
        return ["live_page", "error_workflow_link", "retry_chain", *fields]

    @admin.display(description="live page")
    def live_page(self, obj: Execution) -> str:
        url = reverse("execution-live", args=[obj.pk])
        return format_html('<a href="{}" id="live-page-link">Watch execution #{} live</a>', url, obj.pk)

    @admin.display(description="live")
    def live_link(self, obj: Execution) -> str:
        return format_html('<a href="{}">watch</a>', reverse("execution-live", args=[obj.pk]))

    @admin.display(description="error workflow")
    def error_workflow_link(self, obj: Execution) -> str:
        """The error execution this failure started, or the failure an error execution handles."""
        if obj.mode == ExecutionMode.ERROR and obj.triggered_by_id:
            url = reverse("admin:executions_execution_change", args=[obj.triggered_by_id])
            return format_html('Handles the failure of <a href="{}">execution #{}</a>', url, obj.triggered_by_id)
        started = Execution.objects.filter(triggered_by=obj, mode=ExecutionMode.ERROR).values_list("pk", flat=True)
        links = format_html_join(
            ", ",
            '<a href="{}">error execution #{}</a>',
            ((reverse("admin:executions_execution_change", args=[pk]), pk) for pk in started),
        )
        return links or "-"

    @admin.display(description="retry chain")
    def retry_chain(self, obj: Execution) -> str:
        """The original and every retry of it, oldest first, this one marked ▶."""
        chain = retry_chain(obj)
        if len(chain) == 1:
            return "-"
        links = []
        for e in chain:
            url = reverse("admin:executions_execution_change", args=[e.pk])
            links.append((url, "▶ " if e.pk == obj.pk else "", e.pk, e.status))
        return format_html_join(" → ", '<a href="{}" class="retry-link">{}#{} ({})</a>', links)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Cancel selected executions")
    def cancel_executions(self, request: HttpRequest, queryset: QuerySet[Execution]) -> None:
        done = 0
        for execution in queryset:
            try:
                execution_stop(execution=execution)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"#{execution.pk}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Canceled {done} execution(s).")

    @admin.action(description="Retry selected executions from the failed node")
    def retry_from_failed_node(self, request: HttpRequest, queryset: QuerySet[Execution]) -> None:
        self._retry(request, queryset, "failed_node")

    @admin.action(description="Retry selected executions from the start")
    def retry_from_start(self, request: HttpRequest, queryset: QuerySet[Execution]) -> None:
        self._retry(request, queryset, "start")

    def _retry(self, request: HttpRequest, queryset: QuerySet[Execution], start: str) -> None:
        created = []
        for execution in queryset.select_related("workflow"):
            try:
                created.append(execution_retry(execution=execution, user=request.user, start=start).pk)
            except ServiceError as exc:
                self.message_user(request, f"#{execution.pk}: {exc.message}", messages.WARNING)
        if created:
            self.message_user(request, "Retries started: " + ", ".join(f"#{pk}" for pk in created))


@admin.register(WaitingApproval)
class WaitingApprovalAdmin(admin.ModelAdmin):
    """Paused executions awaiting a decision, with their context; open one to decide."""

    list_display = [
        "execution_link",
        "workflow",
        "node_name",
        "pause_type",
        "created_at",
        "expires_at",
        "message",
        "items_waiting",
    ]
    list_filter = ["pause_type"]
    ordering = ["created_at"]
    search_fields = ["execution__workflow__name", "node_name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExecutionPause]:
        return (
            super()
            .get_queryset(request)
            .filter(status=PauseStatus.WAITING, execution__status=ExecutionStatus.WAITING)
            .select_related("execution__workflow")
        )

    @admin.display(description="execution")
    def execution_link(self, obj: ExecutionPause) -> str:
        url = reverse("admin:executions_waitingapproval_change", args=[obj.pk])
        return format_html('<a href="{}">Execution #{}</a>', url, obj.execution_id)

    @admin.display(description="workflow")
    def workflow(self, obj: ExecutionPause) -> str:
        return obj.execution.workflow.name

    @admin.display(description="message")
    def message(self, obj: ExecutionPause) -> str:
        return str((obj.metadata or {}).get("message") or "")

    @admin.display(description="items")
    def items_waiting(self, obj: ExecutionPause) -> int:
        return int((obj.metadata or {}).get("items") or 0)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:object_id>/change/",
                self.admin_site.admin_view(self.decide_view),
                name="executions_waitingapproval_change",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Context of one wait and the approve / reject / resume buttons."""
        pause = get_object_or_404(ExecutionPause.objects.select_related("execution__workflow"), pk=object_id)
        execution = pause.execution
        if request.method == "POST":
            return self._decide(request, pause)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Execution #{execution.pk} waits at {pause.node_name}",
            "opts": self.model._meta,
            "pause": pause,
            "execution": execution,
            "is_approval": pause.pause_type == PauseType.APPROVAL,
            "items_json": json.dumps(paused_items(pause), indent=2, default=str)[:20000],
            "metadata_json": json.dumps(pause.metadata, indent=2, default=str),
            "execution_url": reverse("admin:executions_execution_change", args=[execution.pk]),
            "live_url": reverse("execution-live", args=[execution.pk]),
        }
        return TemplateResponse(request, "admin/executions/waitingapproval/decide.html", context)

    def _decide(self, request: HttpRequest, pause: ExecutionPause) -> HttpResponse:
        execution = pause.execution
        decision = request.POST.get("decision")
        comment = request.POST.get("comment", "").strip()
        raw = request.POST.get("data", "").strip()
        try:
            data = json.loads(raw) if raw else None
        except ValueError as exc:
            self.message_user(request, f"The JSON data is invalid: {exc}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        try:
            if decision == "approve":
                pause_approve(
                    execution=execution, user=request.user, data=data, comment=comment, trigger=ResumeTrigger.ADMIN
                )
            elif decision == "reject":
                pause_reject(execution=execution, user=request.user, comment=comment, trigger=ResumeTrigger.ADMIN)
            elif decision == "resume":
                pause_resume(
                    execution=execution, user=request.user, data=data, trigger=ResumeTrigger.ADMIN, comment=comment
                )
            else:
                self.message_user(request, "Choose approve, reject or resume.", messages.ERROR)
                return HttpResponseRedirect(request.path)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.path)
        execution.refresh_from_db()
        self.message_user(request, f"Execution #{execution.pk}: {decision} recorded; it is now {execution.status}.")
        return HttpResponseRedirect(reverse("admin:executions_execution_change", args=[execution.pk]))
