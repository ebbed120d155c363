"""Activating workflows: production webhook routes and schedules follow the ``active`` flag."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from workflows.engine.nodes.webhook import webhook_method, webhook_path
from workflows.engine.schedule import next_fire, schedule_crons, zone
from workflows.errors import InvalidInput
from workflows.models import TriggerSchedule, WebhookRoute, Workflow

WEBHOOK_TYPE = "n8n-nodes-base.webhook"
SCHEDULE_TYPE = "n8n-nodes-base.scheduleTrigger"


def _enabled(workflow: Workflow, type_name: str) -> list[tuple[int, dict[str, Any]]]:
    return [(i, n) for i, n in enumerate(workflow.nodes) if n.get("type") == type_name and not n.get("disabled")]


def triggers_sync(*, workflow: Workflow) -> None:
    """Make routes and schedules match the workflow (none when inactive). Runs in a transaction.

    A webhook method and path used by another active workflow → 400 naming the node's path.
    """
    WebhookRoute.objects.filter(workflow=workflow).delete()
    if not workflow.active:
        TriggerSchedule.objects.filter(workflow=workflow).delete()
        return
    seen: dict[tuple[str, str], str] = {}
    for index, node in _enabled(workflow, WEBHOOK_TYPE):
        method, path = webhook_method(node), webhook_path(node)
        field = f"nodes[{index}].parameters.path"
        if (method, path) in seen:
            raise InvalidInput(
                f"node {node['name']!r}: {method} /webhook/{path} is also used by node {seen[(method, path)]!r}",
                field=field,
            )
        seen[(method, path)] = node["name"]
        segments = path.split("/")
        try:
            with transaction.atomic():
                WebhookRoute.objects.create(
                    workflow=workflow,
                    node_name=node["name"],
                    method=method,
                    path=path,
                    is_dynamic=any(s.startswith(":") for s in segments),
                    segments=len(segments),
                )
        except IntegrityError:
            raise InvalidInput(
                f"node {node['name']!r}: {method} /webhook/{path} is already used by another active workflow",
                field=field,
            ) from None
    wanted = {}
    tz_name = str(workflow.settings.get("timezone") or "UTC")
    now = timezone.now()
    for _, node in _enabled(workflow, SCHEDULE_TYPE):
        crons = schedule_crons(node.get("parameters") or {})
        wanted[node["name"]] = crons
        first = next_fire(crons, now.astimezone(zone(tz_name)))
        TriggerSchedule.objects.update_or_create(
            workflow=workflow,
            node_name=node["name"],
            defaults={"crons": crons, "timezone": tz_name, "next_run_at": first.astimezone(dt.UTC)},
        )
    TriggerSchedule.objects.filter(workflow=workflow).exclude(node_name__in=list(wanted)).delete()


@transaction.atomic
def workflow_set_active(*, workflow: Workflow, active: bool) -> Workflow:
    """Activate or deactivate a workflow, registering or removing its webhooks and schedules."""
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    locked.active = active
    locked.save(update_fields=["active", "updated_at"])
    triggers_sync(workflow=locked)
    return locked
