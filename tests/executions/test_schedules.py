"""Schedule Triggers: activation registers them, the timer process fires them on time."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from executions.models import Execution
from executions.services.schedules import schedules_fire_due
from tests.conftest import connect, make_node
from tests.executions.procs import running
from workflows.engine.schedule import Cron, rule_to_cron
from workflows.models import TriggerSchedule

pytestmark = pytest.mark.django_db(transaction=True)


def schedule_workflow(rule: dict) -> dict:
    nodes = [
        make_node("Every", "scheduleTrigger", 1.2, parameters={"rule": {"interval": [rule]}}),
        make_node("Done", position=(200, 0)),
    ]
    return {"nodes": nodes, "connections": connect(("Every", "Done"))}


def test_activation_registers_and_deactivation_removes_the_schedule(api, create_workflow):
    wf = create_workflow(schedule_workflow({"field": "minutes", "minutesInterval": 5}))
    assert not TriggerSchedule.objects.exists()
    api.post(f"/api/workflows/{wf['id']}/activate/")
    schedule = TriggerSchedule.objects.get(workflow_id=wf["id"])
    assert schedule.crons == ["0 */5 * * * *"]
    assert schedule.next_run_at > timezone.now() and schedule.next_run_at.minute % 5 == 0
    api.post(f"/api/workflows/{wf['id']}/deactivate/")
    assert not TriggerSchedule.objects.exists()


def test_due_schedule_fires_once_and_moves_on(api, create_workflow, inline_runs):
    wf = create_workflow(schedule_workflow({"field": "seconds", "secondsInterval": 10}))
    api.post(f"/api/workflows/{wf['id']}/activate/")
    due = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=1)
    TriggerSchedule.objects.update(next_run_at=due)
    [execution_id] = schedules_fire_due()
    assert schedules_fire_due() == []  # claimed: not fired twice
    execution = Execution.objects.get(pk=execution_id)
    assert execution.mode == "trigger" and execution.status == "success"
    item = execution.node_runs.get(node_name="Every").output[0][0]["json"]
    assert dt.datetime.fromisoformat(item["timestamp"]) == due
    assert {"Readable date", "Day of week", "Timezone"} <= set(item)
    assert TriggerSchedule.objects.get().next_run_at > timezone.now()


def test_parameter_errors_name_the_rule_field(api, create_workflow):
    response = api.post("/api/workflows/", {"name": "bad", **schedule_workflow({"field": "fortnights"})}, format="json")
    assert response.status_code == 400 and "nodes[0].parameters.rule.interval[0].field" in response.json()
    response = api.post(
        "/api/workflows/",
        {"name": "bad", **schedule_workflow({"field": "cronExpression", "expression": "61 * * * *"})},
        format="json",
    )
    assert response.status_code == 400 and "nodes[0].parameters.rule.interval[0].expression" in response.json()


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/15 * * * *", "2026-11-26T10:07:00", "2026-11-26T10:15:00"),
        ("0 9 * * 1-5", "2026-11-27T09:00:00", "2026-11-30T09:00:00"),  # Friday 9:00 → Monday
        ("30 8 1 * *", "2026-11-26T00:00:00", "2026-12-01T08:30:00"),
        ("*/20 * * * * *", "2026-11-26T10:00:59", "2026-11-26T10:01:00"),
        ("0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("@hourly", "2026-11-26T10:00:00", "2026-11-26T11:00:00"),
        ("0 12 * jan,jul sun", "2026-11-26T00:00:00", "2027-01-03T12:00:00"),
    ],
)
def test_cron_next_fire(expression, after, expected):
    start = dt.datetime.fromisoformat(after).replace(tzinfo=dt.UTC)
    assert Cron(expression).next_after(start) == dt.datetime.fromisoformat(expected).replace(tzinfo=dt.UTC)


def test_interval_rules_to_cron():
    assert rule_to_cron({"field": "hours", "hoursInterval": 2, "triggerAtMinute": 15}) == "0 15 */2 * * *"
    assert rule_to_cron({"field": "weeks", "triggerAtDay": [1, 3], "triggerAtHour": 8}) == "0 0 8 * * 1,3"
    assert rule_to_cron({}) == "0 0 0 */1 * *"


def test_timer_process_fires_within_a_second(api, create_workflow):
    wf = create_workflow(schedule_workflow({"field": "seconds", "secondsInterval": 2}))
    api.post(f"/api/workflows/{wf['id']}/activate/")
    with running("budflow_timers", BUDFLOW_RUN_INLINE="1"):
        deadline = time.monotonic() + 15
        while Execution.objects.filter(mode="trigger", status="success").count() < 2:
            assert time.monotonic() < deadline, "the schedule did not fire"
            time.sleep(0.1)
    lateness = []
    for execution in Execution.objects.filter(mode="trigger").order_by("id")[:2]:
        fired = dt.datetime.fromisoformat(execution.node_runs.get(node_name="Every").output[0][0]["json"]["timestamp"])
        assert fired.second % 2 == 0
        lateness.append((execution.created_at - fired).total_seconds())
    assert all(0 <= late < 1.0 for late in lateness), lateness


def test_a_fired_schedule_is_next_due_in_the_future(api, create_workflow, inline_runs):
    wf = create_workflow(schedule_workflow({"field": "cronExpression", "expression": "* * * * * *"}))
    api.post(f"/api/workflows/{wf['id']}/activate/")
    TriggerSchedule.objects.update(next_run_at=timezone.now() - dt.timedelta(seconds=1.5))
    assert len(schedules_fire_due()) == 1
    assert TriggerSchedule.objects.get().next_run_at > timezone.now() - dt.timedelta(milliseconds=50)
    assert schedules_fire_due() == []  # once per due time, never twice
