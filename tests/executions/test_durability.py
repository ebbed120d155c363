"""Checkpoints, leases and crash recovery (DESIGN.md invariant 1), with inline runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services.sweeper import requeue_unclaimed, sweep_expired_leases
from executions.services.worker import execution_run
from tests.conftest import connect, make_node
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import registry

pytestmark = pytest.mark.django_db(transaction=True)

CALLS: dict[str, int] = {}
OBSERVED: dict[str, object] = {}


class SimulatedCrash(BaseException):
    """Stands for the worker process dying: not an Exception, so nothing catches it."""


class Probe(NodeType):
    """Test node: counts its calls, can crash the worker once, sees what was committed before it."""

    type = "budflow-test.probe"
    versions = (1.0,)
    side_effects = True

    def execute(self, ctx):
        CALLS[ctx.name] = CALLS.get(ctx.name, 0) + 1
        execution_id = int(ctx.execution.execution_id)
        OBSERVED[ctx.name] = {
            "committed_runs": sorted(
                NodeRun.objects.filter(execution_id=execution_id).values_list("node_name", flat=True)
            ),
            "stack_top": (Execution.objects.get(pk=execution_id).state or {}).get("stack", [{}])[-1].get("node"),
        }
        action = ctx.param("action", "")
        if action == "crash_once" and CALLS[ctx.name] == 1:
            raise SimulatedCrash()
        if action == "steal_lease":
            Execution.objects.filter(pk=execution_id).update(lease_owner="someone-else")
        return [[{**item, "pairedItem": {"item": i}} for i, item in enumerate(ctx.input(0))]]


if registry.get(Probe.type) is None:
    registry.register(Probe)


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    OBSERVED.clear()


def probe(name: str, x: int, action: str = "") -> dict:
    node = make_node(name, position=(x, 0), parameters={"action": action} if action else {})
    node["type"] = Probe.type
    return node


def workflow_with(middle: dict) -> dict:
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node("A", position=(200, 0)),
        middle,
        make_node("C", position=(600, 0)),
    ]
    return {"nodes": nodes, "connections": connect(("Start", "A"), ("A", middle["name"]), (middle["name"], "C"))}


def test_side_effect_node_runs_after_a_checkpoint_that_includes_it(api, create_workflow, inline_runs):
    wf = create_workflow(workflow_with(probe("B", 400)))
    body = api.post(f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True}, format="json").json()
    assert body["status"] == "success"
    # Everything before B was committed before B ran, and the saved state continues at B.
    assert OBSERVED["B"] == {"committed_runs": ["A", "Start"], "stack_top": "B"}


def test_crashed_worker_is_recovered_from_the_checkpoint(api, create_workflow, settings):
    wf = create_workflow(workflow_with(probe("B", 400, "crash_once")))
    response = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json")
    execution_id = response.json()["id"]
    with pytest.raises(SimulatedCrash):
        execution_run(execution_id=execution_id)
    crashed = Execution.objects.get(pk=execution_id)
    assert crashed.status == "running" and crashed.lease_owner
    first_runs = {r.node_name: r.started_at for r in NodeRun.objects.filter(execution_id=execution_id)}
    assert set(first_runs) == {"Start", "A"}

    # The lease runs out; the sweeper releases it and a worker continues the run.
    Execution.objects.filter(pk=execution_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    settings.BUDFLOW = {**settings.BUDFLOW, "RUN_INLINE": True}
    assert sweep_expired_leases() == [execution_id]

    done = Execution.objects.get(pk=execution_id)
    assert done.status == "success" and done.recoveries == 1
    runs = list(NodeRun.objects.filter(execution_id=execution_id).order_by("execution_index"))
    assert [r.node_name for r in runs] == ["Start", "A", "B", "C"]
    # Completed nodes were not run again; the node in flight ran again (at least once).
    assert {r.node_name: r.started_at for r in runs if r.node_name in first_runs} == first_runs
    assert CALLS == {"B": 2}
    events = list(ExecutionEvent.objects.filter(execution_id=execution_id).order_by("sequence"))
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert "execution_recovered" in [e.type for e in events]
    assert events[-1].type == "execution_finished" and events[-1].data["status"] == "success"


def test_execution_crashing_too_often_ends_crashed(api, create_workflow, settings):
    settings.BUDFLOW = {**settings.BUDFLOW, "MAX_RECOVERIES": 0}
    wf = create_workflow(workflow_with(probe("B", 400, "crash_once")))
    execution_id = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()["id"]
    with pytest.raises(SimulatedCrash):
        execution_run(execution_id=execution_id)
    Execution.objects.filter(pk=execution_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert sweep_expired_leases() == []
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "crashed"
    assert execution.error["type"] == "WorkerCrashed"
    last = ExecutionEvent.objects.filter(execution_id=execution_id).order_by("-sequence").first()
    assert last.type == "execution_finished" and last.data["status"] == "crashed"


def test_worker_that_lost_its_lease_stops_touching_the_execution(api, create_workflow):
    wf = create_workflow(workflow_with(probe("B", 400, "steal_lease")))
    execution_id = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()["id"]
    assert execution_run(execution_id=execution_id) == "running"
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "running" and execution.lease_owner == "someone-else"
    # B's run was not committed by the worker that lost the lease, and C never ran.
    assert sorted(NodeRun.objects.filter(execution_id=execution_id).values_list("node_name", flat=True)) == [
        "A",
        "Start",
    ]


def test_claim_is_exclusive(api, create_workflow):
    wf = create_workflow()
    execution_id = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()["id"]
    from executions.services import execution_claim

    assert execution_claim(execution_id=execution_id, worker_id="w1") is not None
    assert execution_claim(execution_id=execution_id, worker_id="w2") is None
    assert execution_run(execution_id=execution_id, worker_id="w3") == "running"  # still w1's
    assert Execution.objects.get(pk=execution_id).lease_owner == "w1"


def test_unclaimed_new_execution_is_requeued(api, create_workflow, settings):
    wf = create_workflow()
    execution_id = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()["id"]
    Execution.objects.filter(pk=execution_id).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    settings.BUDFLOW = {**settings.BUDFLOW, "RUN_INLINE": True}
    assert requeue_unclaimed() == [execution_id]
    assert Execution.objects.get(pk=execution_id).status == "success"
