"""A real worker process (qcluster) runs executions queued through the API.

Runs on whichever backend the suite runs on: PostgreSQL + Redis broker, or the SQLite
embedded default with the ORM broker.
"""

from __future__ import annotations

import pytest

from executions.models import Execution, ExecutionEvent
from tests.conftest import connect, make_node
from tests.executions.procs import running

pytestmark = pytest.mark.django_db(transaction=True)


def branching_workflow() -> dict:
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node(
            "Check",
            "if",
            2.2,
            (200, 0),
            parameters={
                "conditions": {
                    "conditions": [
                        {"leftValue": 2, "rightValue": 1, "operator": {"type": "number", "operation": "gt"}}
                    ],
                    "combinator": "and",
                }
            },
        ),
        make_node("Yes", position=(400, -100)),
        make_node("No", position=(400, 100)),
        make_node("Join", "merge", 3.2, (600, 0)),
        make_node("End", position=(800, 0)),
    ]
    return {
        "nodes": nodes,
        "connections": connect(
            ("Start", "Check"),
            ("Check", "Yes", 0),
            ("Check", "No", 1),
            ("Yes", "Join", 0, 0),
            ("No", "Join", 0, 1),
            ("Join", "End"),
        ),
    }


def test_worker_process_runs_execution_queued_via_api(api, create_workflow, settings):
    settings.BUDFLOW = {**settings.BUDFLOW, "WAIT_TILL_COMPLETION_SECONDS": 60}
    wf = create_workflow(branching_workflow())
    with running("qcluster", ready=1.0):
        response = api.post(
            f"/api/workflows/{wf['id']}/execute/",
            {"wait_till_completion": True, "input_data": [{"n": 1}, {"n": 2}]},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
    assert body["status"] == "success", body
    run_data = body["run_data"]
    # "No" gets no items, so the Merge runs once with input 0 only, at the end (n8n v1).
    assert list(run_data) == ["Start", "Check", "Yes", "Join", "End"]
    assert [len(run_data[name][0]["data"]["main"][0]) for name in run_data] == [2, 2, 2, 2, 2]
    assert run_data["End"][0]["data"]["main"][0][1]["json"] == {"n": 2}
    execution = Execution.objects.get(pk=body["id"])
    assert execution.lease_owner == "" and execution.stopped_at is not None
    assert "qcluster" not in execution.lease_owner
    types = list(ExecutionEvent.objects.filter(execution=execution).values_list("type", flat=True))
    assert types[0] == "execution_started" and types[-1] == "execution_finished"
    assert types.count("node_finished") == 5


def test_execution_queued_while_no_worker_runs_once_worker_starts(api, create_workflow):
    wf = create_workflow()
    response = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json")
    assert response.status_code == 201
    execution = Execution.objects.get(pk=response.json()["id"])
    assert execution.status == "new"
    with running("qcluster", ready=0.5):
        from executions.api.views import wait_for_settled

        execution = wait_for_settled(execution, 30)
    assert execution.status == "success"
    assert execution.node_runs.count() == 3
