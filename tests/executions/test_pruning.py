"""Saving settings and pruning (``executions.services.pruning``).

- ``saveDataSuccessExecution`` / ``saveDataErrorExecution`` ``none``: a production run ending
  that way is deleted after it ends; ``DEFAULT`` or absent follows the instance default;
  ``saveExecutionProgress`` is accepted (progress is always saved).
- Pruning by age and count: soft delete (gone from the API), then hard delete after the buffer.
- Never a ``new``, ``running`` or ``waiting`` execution, nor one an active execution needs.
- The scheduled django-q2 task, created idempotently, and the command that runs it now.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, result
from rest_framework.test import APIClient

from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services.pruning import (
    PRUNE_SCHEDULE_NAME,
    PRUNE_TASK,
    executions_hard_delete,
    executions_prune,
    executions_soft_delete,
    prune_schedule_ensure,
    prune_unsaved,
)
from tests.conftest import chained, linear_workflow, make_node

inline = pytest.mark.django_db(transaction=True)
ACTIVE = ("new", "running", "waiting")


def failing() -> dict[str, Any]:
    return chained([make_node("Start", "manualTrigger"), make_node("Fail", "stopAndError", 1, (200, 0), parameters={})])


def run(api: APIClient, workflow_id: int, mode: str = "cli") -> dict[str, Any]:
    response = api.post(
        f"/api/workflows/{workflow_id}/execute/", {"wait_till_completion": True, "mode": mode}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def conf(settings: Any, **values: Any) -> None:
    settings.BUDFLOW = {**settings.BUDFLOW, **values}


def remaining() -> set[int]:
    return set(Execution.objects.values_list("pk", flat=True))


def age(execution_id: int, **delta: float) -> None:
    """Make an execution look as if it ended (and started) ``delta`` ago."""
    when = timezone.now() - timedelta(**delta)
    Execution.objects.filter(pk=execution_id).update(stopped_at=when, created_at=when)


# -- saving settings ------------------------------------------------------------------------------
@inline
def test_production_runs_are_deleted_after_they_end_as_their_save_settings_say(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    conf(settings, UNSAVED_KEEP_SECONDS=0.0)
    no_success = {"saveDataSuccessExecution": "none"}
    no_error = {"saveDataErrorExecution": "none"}
    success_unsaved = run(api, create_workflow({**linear_workflow(2), "settings": no_success})["id"])
    error_kept = run(api, create_workflow({**failing(), "settings": no_success})["id"])
    error_unsaved = run(api, create_workflow({**failing(), "settings": no_error})["id"])
    success_kept = run(api, create_workflow({**linear_workflow(2), "settings": no_error})["id"])
    explicit_all = run(
        api,
        create_workflow(
            {**linear_workflow(2), "settings": {"saveDataSuccessExecution": "all", "saveDataErrorExecution": "all"}}
        )["id"],
    )
    # manual runs follow saveManualExecutions only, as in n8n
    manual_kept = run(api, create_workflow({**linear_workflow(2), "settings": no_success})["id"], mode="manual")
    assert (success_unsaved["status"], error_unsaved["status"]) == ("success", "error")

    deleted = prune_unsaved()

    assert sorted(deleted) == sorted([success_unsaved["id"], error_unsaved["id"]])
    assert remaining() == {error_kept["id"], success_kept["id"], explicit_all["id"], manual_kept["id"]}
    assert not NodeRun.objects.filter(execution_id__in=deleted).exists()
    assert not ExecutionEvent.objects.filter(execution_id__in=deleted).exists()
    assert api.get(f"/api/executions/{success_unsaved['id']}/").status_code == 404


@inline
def test_canceled_and_crashed_runs_follow_save_data_error_execution(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    conf(settings, UNSAVED_KEEP_SECONDS=0.0)
    wf = create_workflow({**linear_workflow(2), "settings": {"saveDataErrorExecution": "none"}})
    canceled, crashed, success = (run(api, wf["id"]) for _ in range(3))
    Execution.objects.filter(pk=canceled["id"]).update(status="canceled")
    Execution.objects.filter(pk=crashed["id"]).update(status="crashed")

    assert sorted(prune_unsaved()) == sorted([canceled["id"], crashed["id"]])
    assert remaining() == {success["id"]}


@inline
def test_an_unsaved_run_is_kept_for_its_caller_then_deleted(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    body = run(api, create_workflow({**linear_workflow(2), "settings": {"saveDataSuccessExecution": "none"}})["id"])
    # the caller got the whole result, and the run stays readable for UNSAVED_KEEP_SECONDS
    assert set(body["run_data"]) == {"Start", "Step 1"}
    assert prune_unsaved() == []
    assert api.get(f"/api/executions/{body['id']}/").status_code == 200

    age(body["id"], seconds=settings.BUDFLOW["UNSAVED_KEEP_SECONDS"] + 1)
    assert prune_unsaved() == [body["id"]]


@inline
def test_default_and_absent_settings_follow_the_instance_defaults(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    conf(settings, UNSAVED_KEEP_SECONDS=0.0, SAVE_DATA_ON_SUCCESS="none", SAVE_MANUAL_EXECUTIONS=False)
    absent = run(api, create_workflow(linear_workflow(2))["id"])
    default_wf = create_workflow({**linear_workflow(2), "settings": {"saveDataSuccessExecution": "DEFAULT"}})
    default = run(api, default_wf["id"])
    kept = run(api, create_workflow({**linear_workflow(2), "settings": {"saveDataSuccessExecution": "all"}})["id"])
    error = run(api, create_workflow(failing())["id"])  # SAVE_DATA_ON_ERROR stays "all"
    manual_default = run(
        api, create_workflow({**linear_workflow(2), "settings": {"saveManualExecutions": "DEFAULT"}})["id"], "manual"
    )
    manual_kept = run(
        api, create_workflow({**linear_workflow(2), "settings": {"saveManualExecutions": True}})["id"], "manual"
    )

    assert sorted(prune_unsaved()) == sorted([absent["id"], default["id"], manual_default["id"]])
    assert remaining() == {kept["id"], error["id"], manual_kept["id"]}


@inline
def test_waiting_runs_are_never_deleted_by_save_settings(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    conf(settings, UNSAVED_KEEP_SECONDS=0.0)
    wait = make_node("Wait", "wait", 1.1, (200, 0), parameters={"resume": "manual"}, webhookId="wh-wait")
    definition = chained([make_node("Start", "manualTrigger"), wait])
    body = run(
        api,
        create_workflow(
            {**definition, "settings": {"saveDataSuccessExecution": "none", "saveDataErrorExecution": "none"}}
        )["id"],
    )
    assert body["status"] == "waiting"
    age(body["id"], days=30)

    assert prune_unsaved() == []
    assert remaining() == {body["id"]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("settings_", "field"),
    [
        ({"saveDataSuccessExecution": "some"}, "settings.saveDataSuccessExecution"),
        ({"saveDataErrorExecution": "everything"}, "settings.saveDataErrorExecution"),
        ({"saveExecutionProgress": "always"}, "settings.saveExecutionProgress"),
        ({"saveManualExecutions": "no"}, "settings.saveManualExecutions"),
    ],
)
def test_bad_save_settings_are_refused(api: APIClient, settings_: dict[str, Any], field: str) -> None:
    response = api.post("/api/workflows/", {"name": "x", **linear_workflow(2), "settings": settings_}, format="json")

    assert response.status_code == 400
    assert field in response.json()


@inline
@pytest.mark.parametrize("progress", [False, True, "DEFAULT"])
def test_save_execution_progress_is_accepted_on_import_and_progress_is_saved(
    api: APIClient, inline_runs: None, progress: Any
) -> None:
    exported = {
        "name": "imported",
        **linear_workflow(3),
        "settings": {"saveExecutionProgress": progress, "saveDataSuccessExecution": "all"},
    }
    imported = api.post("/api/workflows/import/", exported, format="json")
    assert imported.status_code == 201, imported.content

    body = run(api, imported.json()["id"])

    assert body["status"] == "success"
    assert set(NodeRun.objects.filter(execution_id=body["id"]).values_list("node_name", flat=True)) == {
        "Start",
        "Step 1",
        "Step 2",
    }


# -- pruning by age and count ---------------------------------------------------------------------
@inline
def test_old_executions_are_soft_deleted_then_hard_deleted_after_the_buffer(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    conf(settings, PRUNE_MAX_AGE_HOURS=24.0, PRUNE_MAX_COUNT=0, PRUNE_HARD_DELETE_BUFFER_HOURS=1.0)
    wf = create_workflow(linear_workflow(2))
    old, recent = run(api, wf["id"]), run(api, wf["id"])
    age(old["id"], hours=25)

    assert executions_soft_delete() == 1
    hidden = Execution.objects.get(pk=old["id"])
    assert hidden.deleted_at is not None
    # gone from the API at once, for the owner and for staff
    assert api.get(f"/api/executions/{old['id']}/").status_code == 404
    assert [row["id"] for row in api.get("/api/executions/").json()["results"]] == [recent["id"]]
    # ... but its rows stay until the buffer has passed
    assert executions_hard_delete() == 0
    assert NodeRun.objects.filter(execution_id=old["id"]).exists()
    assert executions_hard_delete(now=timezone.now() + timedelta(hours=1, seconds=1)) == 1
    assert remaining() == {recent["id"]}
    assert not NodeRun.objects.filter(execution_id=old["id"]).exists()
    assert not ExecutionEvent.objects.filter(execution_id=old["id"]).exists()


@inline
def test_beyond_the_max_count_the_oldest_ended_executions_are_pruned(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    conf(settings, PRUNE_MAX_AGE_HOURS=0.0, PRUNE_MAX_COUNT=3)
    wf = create_workflow(linear_workflow(2))
    ids = [run(api, wf["id"])["id"] for _ in range(5)]

    assert executions_soft_delete() == 2

    hidden = set(Execution.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True))
    assert hidden == set(ids[:2])
    assert executions_soft_delete() == 0  # the count is of executions still visible


@inline
def test_pruning_never_touches_new_running_or_waiting_executions(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    # Everything is over every limit: oldest, beyond a count of 1, unsaved, no buffer.
    conf(
        settings,
        PRUNE_MAX_AGE_HOURS=1.0,
        PRUNE_MAX_COUNT=1,
        PRUNE_HARD_DELETE_BUFFER_HOURS=0.0,
        UNSAVED_KEEP_SECONDS=0.0,
        SAVE_DATA_ON_SUCCESS="none",
        SAVE_DATA_ON_ERROR="none",
        SAVE_MANUAL_EXECUTIONS=False,
    )
    wf = create_workflow(linear_workflow(2))
    active = {status: run(api, wf["id"])["id"] for status in ACTIVE}
    ended = run(api, wf["id"])["id"]
    for status, pk in active.items():
        Execution.objects.filter(pk=pk).update(status=status, stopped_at=None)
        age(pk, days=400)
    Execution.objects.filter(pk__in=active.values()).update(stopped_at=None)
    # a soft-deleted active row (it cannot happen through services) is not hard-deleted either
    Execution.objects.filter(pk=active["waiting"]).update(deleted_at=timezone.now() - timedelta(days=1))

    counts = executions_prune()

    assert set(active.values()) <= remaining()
    assert ended not in remaining()
    assert dict(Execution.objects.filter(pk__in=active.values()).values_list("pk", "status")) == {
        pk: status for status, pk in active.items()
    }
    assert NodeRun.objects.filter(execution_id__in=active.values()).count() == 3 * 2
    assert counts["unsaved"] == 1


@inline
def test_executions_another_execution_needs_are_not_pruned(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    conf(settings, PRUNE_MAX_AGE_HOURS=1.0, PRUNE_MAX_COUNT=0, PRUNE_HARD_DELETE_BUFFER_HOURS=0.0)
    wf = create_workflow(linear_workflow(3))
    reused, reused_by_ended, freed, caller, child, lone, ended_child = (run(api, wf["id"])["id"] for _ in range(7))
    partial, ended_partial, old_partial = (run(api, wf["id"])["id"] for _ in range(3))
    running_child, waiting_parent = run(api, wf["id"])["id"], run(api, wf["id"])["id"]
    # Partial runs hold references to the runs they reuse: a waiting one, a recent ended one,
    # and an old one that is pruned itself (so what it reused may go too).
    Execution.objects.filter(pk=partial).update(status="waiting", reused_runs={"Start": reused, "Step 1": reused})
    Execution.objects.filter(pk=ended_partial).update(reused_runs={"Start": reused_by_ended})
    Execution.objects.filter(pk=old_partial).update(reused_runs={"Start": freed})
    # A running child of ``caller``; a waiting caller of ``ended_child``; a child without caller.
    Execution.objects.filter(pk=running_child).update(status="running", mode="integrated", parent_execution=caller)
    Execution.objects.filter(pk=waiting_parent).update(status="waiting")
    Execution.objects.filter(pk=ended_child).update(mode="integrated", parent_execution=waiting_parent)
    Execution.objects.filter(pk=child).update(mode="integrated", parent_execution=None)
    for pk in (reused, reused_by_ended, freed, caller, child, lone, ended_child, old_partial):
        age(pk, days=2)

    executions_prune()  # soft-deletes, then (no buffer) deletes
    executions_prune()  # ``freed`` is no longer needed once ``old_partial`` is gone

    assert {reused, reused_by_ended, caller, ended_child, partial, ended_partial} <= remaining()
    assert not {child, lone, old_partial, freed} & remaining()  # nothing needs them


# -- the schedule and the command -------------------------------------------------------------------
@pytest.mark.django_db
def test_the_prune_schedule_is_created_once_and_follows_the_interval_setting(settings: Any) -> None:
    Schedule.objects.filter(name=PRUNE_SCHEDULE_NAME).delete()  # the migration made one
    conf(settings, PRUNE_INTERVAL_MINUTES=15)
    first = prune_schedule_ensure()
    again = prune_schedule_ensure()

    assert first.pk == again.pk
    schedule = Schedule.objects.get(name=PRUNE_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (PRUNE_TASK, "I", 15, -1)

    conf(settings, PRUNE_INTERVAL_MINUTES=60)
    Schedule.objects.create(name=PRUNE_SCHEDULE_NAME, func=PRUNE_TASK, schedule_type="I", minutes=5)  # a duplicate
    prune_schedule_ensure()
    assert list(Schedule.objects.filter(name=PRUNE_SCHEDULE_NAME).values_list("pk", "minutes")) == [(first.pk, 60)]


@inline
def test_the_scheduled_task_prunes(api: APIClient, create_workflow: Any, inline_runs: None, settings: Any) -> None:
    conf(settings, PRUNE_MAX_AGE_HOURS=1.0, PRUNE_MAX_COUNT=0)
    wf = create_workflow(linear_workflow(2))
    old, new = run(api, wf["id"])["id"], run(api, wf["id"])["id"]
    age(old, hours=2)

    # What django-q2 runs for the schedule: the task by its dotted path.
    task_id = async_task(PRUNE_TASK, sync=True)

    assert result(task_id) == {"unsaved": 0, "soft_deleted": 1, "hard_deleted": 0}
    assert Execution.objects.get(pk=old).deleted_at is not None
    assert Execution.objects.get(pk=new).deleted_at is None


@inline
def test_the_command_prunes_now(api: APIClient, create_workflow: Any, inline_runs: None, settings: Any) -> None:
    conf(settings, PRUNE_MAX_AGE_HOURS=1.0, PRUNE_MAX_COUNT=0, PRUNE_HARD_DELETE_BUFFER_HOURS=0.0)
    old = run(api, create_workflow(linear_workflow(2))["id"])["id"]
    age(old, hours=2)
    out: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            out.append(text)

        def flush(self) -> None:
            pass

    call_command("budflow_prune", stdout=Sink())

    assert old not in remaining()
    assert "soft-deleted: 1, hard-deleted: 1" in "".join(out)


@inline
def test_pruning_switched_off_keeps_old_executions(
    api: APIClient, create_workflow: Any, inline_runs: None, settings: Any
) -> None:
    conf(settings, PRUNE=False, PRUNE_MAX_AGE_HOURS=1.0, PRUNE_MAX_COUNT=1)
    wf = create_workflow(linear_workflow(2))
    ids = [run(api, wf["id"])["id"] for _ in range(3)]
    for pk in ids:
        age(pk, days=30)

    assert executions_prune() == {"unsaved": 0, "soft_deleted": 0, "hard_deleted": 0}
    assert remaining() == set(ids)
