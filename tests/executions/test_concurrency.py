"""Production concurrency limits (issue 10, part 6): ``webhook`` / ``trigger`` executions over
the limit stay ``new`` (``queued``), start first in, first out when a slot frees, and can be
stopped; manual and test runs are not limited."""

from __future__ import annotations

from typing import Any

import pytest

from executions.models import Execution
from executions.services import concurrency, execution_create
from executions.services.concurrency import concurrency_start_queued
from executions.services.lifecycle import execution_claim, execution_finish
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def started(monkeypatch) -> list[int]:
    """Ids the concurrency service queues for a worker (recorded instead of run)."""
    queued: list[int] = []
    monkeypatch.setattr(concurrency, "enqueue_execution", lambda pk, **_: queued.append(pk))
    return queued


@pytest.fixture
def limit(settings) -> Any:
    def set_limit(value: int) -> None:
        settings.BUDFLOW = {**settings.BUDFLOW, "PRODUCTION_CONCURRENCY": value}

    return set_limit


def new(workflow: dict[str, Any], mode: str = "webhook") -> Execution:
    return execution_create(workflow=Workflow.objects.get(pk=workflow["id"]), user=None, mode=mode, defer_enqueue=True)


def claim(execution: Execution) -> bool:
    return execution_claim(execution_id=execution.pk, worker_id=f"w{execution.pk}") is not None


def finish(execution: Execution) -> None:
    assert execution_finish(execution_id=execution.pk, worker_id=f"w{execution.pk}", status="success")


def test_the_queue_is_first_in_first_out_and_a_freed_slot_starts_the_next(api, create_workflow, limit, started) -> None:
    limit(1)
    wf = create_workflow()
    first, second, third = new(wf), new(wf), new(wf)
    assert claim(first)
    # The newest asks first: it must not overtake the one before it.
    assert not claim(third)
    assert not claim(second)
    rows = {row["id"]: row for row in api.get("/api/executions/").json()["results"]}
    assert [rows[e.pk]["queued"] for e in (first, second, third)] == [False, True, True]
    assert [rows[e.pk]["status"] for e in (first, second, third)] == ["running", "new", "new"]
    assert api.get(f"/api/executions/{second.pk}/").json()["queue_position"] == 1
    assert api.get(f"/api/executions/{third.pk}/").json()["queue_position"] == 2
    assert started == []

    finish(first)  # the slot frees: the oldest held one is queued for a worker, only it
    assert started == [second.pk]
    assert not claim(third)  # its turn has not come (the one ahead is queued again: harmless)
    assert set(started) == {second.pk}
    assert claim(second)
    finish(second)
    assert started[-1] == third.pk and started.count(third.pk) == 1
    assert claim(third)
    assert api.get(f"/api/executions/{third.pk}/").json()["queued"] is False


def test_a_queued_execution_can_be_stopped_and_the_next_one_moves_up(api, create_workflow, limit, started) -> None:
    limit(1)
    wf = create_workflow()
    first, second, third = new(wf), new(wf), new(wf)
    assert claim(first) and not claim(second) and not claim(third)
    body = api.post(f"/api/executions/{second.pk}/stop/").json()
    assert body["status"] == "canceled" and body["queued"] is False
    assert api.get(f"/api/executions/{third.pk}/").json()["queue_position"] == 1
    finish(first)
    assert started == [third.pk]
    assert not claim(second)  # canceled: never runs
    assert claim(third)


def test_manual_test_and_other_modes_are_not_limited(create_workflow, limit, started) -> None:
    limit(1)
    wf = create_workflow()
    assert claim(new(wf, "webhook"))
    for mode in ("manual", "test", "cli", "error", "retry", "internal"):
        assert claim(new(wf, mode)), mode
    assert not claim(new(wf, "trigger"))


def test_a_workflow_limit_holds_only_that_workflow(create_workflow, limit, started) -> None:
    limit(0)
    limited = create_workflow(name="limited", settings={"concurrencyLimit": 1})
    free = create_workflow(name="free")
    a1, a2, b1, b2 = new(limited), new(limited), new(free), new(free)
    assert claim(a1)
    assert not claim(a2)
    assert claim(b1) and claim(b2)  # not held behind the other workflow's queue
    finish(a1)
    assert started == [a2.pk]


def test_no_limit_claims_at_once(create_workflow, limit, started) -> None:
    limit(0)
    wf = create_workflow()
    executions = [new(wf) for _ in range(3)]
    assert all(claim(e) for e in executions)
    assert Execution.objects.filter(held_at__isnull=False).count() == 0


def test_the_timer_sweep_starts_held_executions_when_a_slot_is_free(create_workflow, limit, started) -> None:
    """A release whose queueing was lost (a crashed process) is made good by the timer's sweep."""
    limit(1)
    wf = create_workflow()
    first, second = new(wf), new(wf)
    assert claim(first) and not claim(second)
    assert concurrency_start_queued() == []  # no free slot
    Execution.objects.filter(pk=first.pk).update(status="success")  # ended without a release
    assert concurrency_start_queued() == [second.pk]
    assert started == [second.pk]
