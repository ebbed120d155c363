from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from executions.choices import ExecutionMode
from executions.models import Execution, WebhookListener
from executions.selectors import pause_for_decision, pause_public, run_data_of
from executions.services.concurrency import queue_position


class ExecuteRequestSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=[ExecutionMode.MANUAL, ExecutionMode.TEST, ExecutionMode.CLI], default=ExecutionMode.MANUAL
    )
    trigger_node = serializers.CharField(required=False, allow_blank=True, max_length=200)
    input_data = serializers.JSONField(required=False, allow_null=True)
    destination_node = serializers.CharField(required=False, allow_blank=True, max_length=200)
    destination_mode = serializers.ChoiceField(choices=["inclusive", "exclusive"], required=False)
    wait_till_completion = serializers.BooleanField(default=False)


class PartialExecuteRequestSerializer(serializers.Serializer):
    start_node = serializers.CharField(required=False, allow_blank=True, max_length=200)
    destination_node = serializers.CharField(required=False, allow_blank=True, max_length=200)
    destination_mode = serializers.ChoiceField(choices=["inclusive", "exclusive"], required=False)
    input_data = serializers.JSONField(required=False, allow_null=True)
    previous_execution_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    dirty_nodes = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, allow_empty=True, max_length=10000
    )
    wait_till_completion = serializers.BooleanField(default=False)


class StepExecuteRequestSerializer(serializers.Serializer):
    input_data = serializers.JSONField(required=False, allow_null=True)
    previous_execution_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    wait_till_completion = serializers.BooleanField(default=False)


class RetryRequestSerializer(serializers.Serializer):
    start = serializers.JSONField(
        required=False,
        default="failed_node",
        source="start",
        help_text='Where the retry starts: "failed_node", "start", a node name or {"node": name}',
    )
    use_current_workflow = serializers.BooleanField(default=False)
    wait_till_completion = serializers.BooleanField(default=False)

    def get_fields(self) -> dict[str, Any]:
        # The body calls it ``from`` (a Python keyword); it is validated into ``start``.
        fields = super().get_fields()
        fields["from"] = fields.pop("start")
        return fields


class ResumeRequestSerializer(serializers.Serializer):
    data = serializers.JSONField(required=False, allow_null=True)
    node = serializers.CharField(required=False, allow_blank=True, max_length=200)


class DecisionRequestSerializer(serializers.Serializer):
    data = serializers.JSONField(required=False, allow_null=True)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ExecutionListSerializer(serializers.ModelSerializer):
    workflow_name = serializers.CharField(source="workflow.name", read_only=True)
    parent_execution_id = serializers.IntegerField(read_only=True)
    retry_of = serializers.IntegerField(source="retry_of_id", read_only=True)
    retry_success_id = serializers.IntegerField(read_only=True)
    triggered_by = serializers.IntegerField(source="triggered_by_id", read_only=True)
    queued = serializers.BooleanField(read_only=True, help_text="new, held back by a concurrency limit")

    class Meta:
        model = Execution
        fields = [
            "id",
            "workflow",
            "workflow_name",
            "status",
            "mode",
            "execution_mode",
            "created_at",
            "started_at",
            "stopped_at",
            "wait_till",
            "start_node",
            "destination_node",
            "parent_execution_id",
            "retry_of",
            "retry_success_id",
            "triggered_by",
            "execution_depth",
            "custom_data",
            "error",
            "last_node_executed",
            "queued",
        ]
        read_only_fields = fields


class ExecutionDetailSerializer(ExecutionListSerializer):
    waiting_node = serializers.SerializerMethodField()
    pause = serializers.SerializerMethodField()
    resume_url = serializers.SerializerMethodField()
    run_data = serializers.SerializerMethodField()
    cancel_requested = serializers.BooleanField(read_only=True)
    queue_position = serializers.SerializerMethodField()

    waiting_for_webhook = serializers.SerializerMethodField()
    test_webhook_url = serializers.SerializerMethodField()
    live_url = serializers.SerializerMethodField()

    class Meta(ExecutionListSerializer.Meta):
        fields = [
            *ExecutionListSerializer.Meta.fields,
            "live_url",
            "waiting_for_webhook",
            "test_webhook_url",
            "trigger_node",
            "destination_mode",
            "execution_stack",
            "waiting_node",
            "pause",
            "resume_url",
            "cancel_requested",
            "queue_position",
            "run_data",
        ]
        read_only_fields = fields

    def _pause(self, obj: Execution) -> dict[str, Any] | None:
        if obj.status != "waiting":
            return None
        cache = self.context.setdefault("_pauses", {})
        if obj.pk not in cache:
            pause = pause_for_decision(obj)
            cache[obj.pk] = pause_public(pause, obj) if pause else None
        return cache[obj.pk]

    def get_waiting_node(self, obj: Execution) -> str | None:
        pause = self._pause(obj)
        return pause["node"] if pause else None

    def get_pause(self, obj: Execution) -> dict[str, Any] | None:
        pause = self._pause(obj)
        if not pause:
            return None
        return {k: v for k, v in pause.items() if k != "resume_url"}

    def get_resume_url(self, obj: Execution) -> str | None:
        pause = self._pause(obj)
        return pause.get("resume_url") if pause else None

    def _listener(self, obj: Execution) -> WebhookListener | None:
        if obj.status != "new":
            return None
        return WebhookListener.objects.filter(execution_id=obj.pk).first()

    def get_waiting_for_webhook(self, obj: Execution) -> bool:
        return self._listener(obj) is not None

    def get_test_webhook_url(self, obj: Execution) -> str | None:
        listener = self._listener(obj)
        return f"{settings.BUDFLOW_PUBLIC_URL}/webhook-test/{listener.path}" if listener else None

    def get_live_url(self, obj: Execution) -> str:
        """The live execution page (sign-in with a session; 404 for users who may not see it)."""
        return f"{settings.BUDFLOW_PUBLIC_URL}{reverse('execution-live', args=[obj.pk])}"

    def get_queue_position(self, obj: Execution) -> int | None:
        return queue_position(obj)

    def get_run_data(self, obj: Execution) -> dict[str, Any]:
        return run_data_of(obj)


class ChildExecutionSerializer(ExecutionListSerializer):
    """A sub-workflow execution, with the call that started it (``GET /executions/{id}/children/``)."""

    subworkflow = serializers.SerializerMethodField()

    class Meta(ExecutionListSerializer.Meta):
        fields = [*ExecutionListSerializer.Meta.fields, "subworkflow"]
        read_only_fields = fields

    def get_subworkflow(self, obj: Execution) -> dict[str, Any] | None:
        call = getattr(obj, "subworkflow_call", None)
        if call is None:
            return None
        return {
            "node": call.node_name,
            "run_index": call.run_index,
            "item_index": call.item_index,
            "status": call.status,
            "started_at": call.started_at,
            "completed_at": call.completed_at,
            "error": call.error_details,
        }
