"""Sub-workflows on a real worker process: more parents than workers, three levels deep.

If a parent waited in its worker slot for children sitting in the queue, two workers running
two parents would wait forever. Children run inside their parent's worker, so every chain
finishes; a parent whose child waits is parked as ``waiting`` and holds no worker.
"""

from __future__ import annotations

import time

import pytest

from executions.models import Execution
from tests.conftest import chained, make_node
from tests.executions.procs import running
from tests.executions.test_subworkflows import call, passthrough

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_two_workers_run_four_three_level_chains_without_deadlock(api, create_workflow) -> None:
    leaf = create_workflow(chained([passthrough(), make_node("Leaf", position=(200, 0))]), name="leaf")["id"]
    middle = create_workflow(chained([passthrough(), call(leaf, mode="each")]), name="middle")["id"]
    top = create_workflow(chained([make_node("Start", "manualTrigger"), call(middle)]), name="top")["id"]
    ids = []
    for n in range(4):
        response = api.post(f"/api/workflows/{top}/execute/", {"input_data": [{"n": n}, {"n": n + 10}]}, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])

    with running("qcluster", ready=0.5, BUDFLOW_WORKERS="2"):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not Execution.objects.filter(pk__in=ids).exclude(status__in=["success", "error"]).exists():
                break
            time.sleep(0.1)

    tops = list(Execution.objects.filter(pk__in=ids))
    assert [e.status for e in tops] == ["success"] * 4, [(e.pk, e.status, e.error) for e in tops]
    middles = Execution.objects.filter(parent_execution_id__in=ids)
    assert middles.count() == 4 and {m.status for m in middles} == {"success"}
    leaves = Execution.objects.filter(parent_execution__in=middles)
    assert leaves.count() == 8 and {leaf.status for leaf in leaves} == {"success"}
    assert {leaf.execution_depth for leaf in leaves} == {2}


def test_parents_of_waiting_children_hold_no_worker_and_survive_a_restart(api, create_workflow) -> None:
    """One worker, three parents whose children wait a second: all three park as ``waiting`` (so
    none holds the worker), the worker is restarted, and the timer process's resumes of the
    children carry every parent to its end."""
    pause = make_node("Wait", "wait", 1.1, (200, 0), parameters={"amount": 1, "unit": "seconds"}, webhookId="w")
    child = create_workflow(chained([passthrough(), pause, make_node("Done", position=(400, 0))]), name="child")["id"]
    top = create_workflow(chained([make_node("Start", "manualTrigger"), call(child)]), name="top")["id"]
    ids = []
    for n in range(3):
        response = api.post(f"/api/workflows/{top}/execute/", {"input_data": [{"n": n}]}, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])

    def settled(statuses: set[str], timeout: float) -> list[Execution]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tops = list(Execution.objects.filter(pk__in=ids))
            if {e.status for e in tops} <= statuses:
                return tops
            time.sleep(0.1)
        return list(Execution.objects.filter(pk__in=ids))

    with running("qcluster", ready=0.5, BUDFLOW_WORKERS="1"):
        parked = settled({"waiting"}, 30)
    assert [e.status for e in parked] == ["waiting"] * 3, [(e.pk, e.status, e.error) for e in parked]
    assert Execution.objects.filter(parent_execution_id__in=ids, status="waiting").count() == 3

    with running("qcluster", ready=0.5, BUDFLOW_WORKERS="1"), running("budflow_timers"):
        done = settled({"success", "error", "canceled"}, 30)
    assert [e.status for e in done] == ["success"] * 3, [(e.pk, e.status, e.error) for e in done]
    assert set(Execution.objects.filter(parent_execution_id__in=ids).values_list("status", flat=True)) == {"success"}
