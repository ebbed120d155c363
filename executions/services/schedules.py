"""Firing Schedule Triggers: the timer process claims due schedules and starts executions."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from executions.choices import ExecutionMode
from executions.services.lifecycle import execution_create
from workflows.engine.nodes.schedule_trigger import fire_item
from workflows.engine.schedule import next_fire, zone
from workflows.errors import ServiceError
from workflows.models import TriggerSchedule

log = logging.getLogger(__name__)


def schedules_next_due() -> dt.datetime | None:
    """When the earliest schedule is due (the timer loop sleeps until then)."""
    return TriggerSchedule.objects.order_by("next_run_at").values_list("next_run_at", flat=True).first()


def _claim(schedule: TriggerSchedule, now: dt.datetime) -> dt.datetime | None:
    """Move the schedule to its next fire time; the one claimer whose compare-and-set wins fires."""
    due = schedule.next_run_at
    tz = zone(schedule.timezone)
    # Missed fires (timers were down) are not caught up, as in n8n: the next one is in the future.
    following = next_fire(schedule.crons, max(due, now).astimezone(tz))
    won = TriggerSchedule.objects.filter(pk=schedule.pk, next_run_at=due).update(
        next_run_at=following.astimezone(dt.UTC), last_run_at=now
    )
    return due if won == 1 else None


def schedules_fire_due(*, limit: int = 100) -> list[int]:
    """Start a ``trigger`` execution for every due schedule; returns the execution ids."""
    now = timezone.now()
    started: list[int] = []
    due = TriggerSchedule.objects.filter(next_run_at__lte=now).select_related("workflow").order_by("next_run_at")
    for schedule in due[:limit]:
        workflow = schedule.workflow
        if not workflow.active:
            TriggerSchedule.objects.filter(pk=schedule.pk).delete()
            continue
        with transaction.atomic():
            fired_at = _claim(schedule, now)
            if fired_at is None:
                continue
            try:
                execution = execution_create(
                    workflow=workflow,
                    user=None,
                    mode=ExecutionMode.TRIGGER,
                    trigger_node=schedule.node_name,
                    input_data=[{"json": fire_item(fired_at.astimezone(zone(schedule.timezone)))}],
                )
            except ServiceError as exc:  # the node was removed or disabled since activation
                log.warning("schedule %s of workflow %s cannot fire: %s", schedule.node_name, workflow.pk, exc)
                continue
            started.append(execution.pk)
    return started
