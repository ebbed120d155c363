"""``GET /api/executions/{id}/progress/``: the snapshot, from stored node runs and events."""

from __future__ import annotations

import pytest

from executions.models import Execution, ExecutionEvent
from executions.progress import execution_progress
from tests.executions.progress_helpers import error_flow, execute, wait_flow

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = {"status", "start_time", "end_time", "execution_time_ms", "input_size", "output_size", "error"}


def progress(api, execution_id: int) -> dict:
    response = api.get(f"/api/executions/{execution_id}/progress/")
    assert response.status_code == 200, response.content
    return response.json()


def test_new_execution_has_every_node_pending(api, create_workflow):
    wf = create_workflow()
    body = execute(api, wf["id"], wait=False)  # no worker: stays new
    snap = progress(api, body["id"])
    assert snap["status"] == "new"
    assert snap["total_nodes"] == 3 and snap["completed_nodes"] == 0
    assert snap["progress_percentage"] == 0
    assert snap["current_node"] is None
    assert list(snap["node_progress"]) == ["Start", "Step 1", "Step 2"]
    assert all(p["status"] == "pending" and set(p) == FIELDS for p in snap["node_progress"].values())
    assert snap["errors"] == [] and snap["last_sequence"] == 0


def test_succeeded_execution(api, create_workflow, inline_runs):
    wf = create_workflow()
    body = execute(api, wf["id"])
    assert body["status"] == "success"
    snap = progress(api, body["id"])
    assert snap["execution_id"] == body["id"] and snap["status"] == "success"
    assert snap["completed_nodes"] == 3 and snap["progress_percentage"] == 100
    assert snap["current_node"] is None and snap["errors"] == []
    step = snap["node_progress"]["Step 1"]
    assert step["status"] == "success"
    assert step["input_size"] == 1 and step["output_size"] == 1
    assert step["start_time"] <= step["end_time"] and step["execution_time_ms"] >= 0
    last = ExecutionEvent.objects.filter(execution_id=body["id"]).order_by("-sequence").first()
    assert snap["last_sequence"] == last.sequence and last.type == "execution_finished"


def test_waiting_execution_shows_the_waiting_node(api, create_workflow, inline_runs):
    wf = create_workflow(wait_flow())
    body = execute(api, wf["id"])
    assert body["status"] == "waiting"
    snap = progress(api, body["id"])
    assert snap["status"] == "waiting" and snap["current_node"] == "Wait"
    assert {n: p["status"] for n, p in snap["node_progress"].items()} == {
        "Start": "success",
        "Wait": "waiting",
        "After": "pending",
    }
    assert snap["node_progress"]["Wait"]["end_time"] is None
    assert snap["completed_nodes"] == 1 and snap["progress_percentage"] == pytest.approx(33.3)


def test_failed_execution_lists_the_error(api, create_workflow, inline_runs):
    wf = create_workflow(error_flow())
    body = execute(api, wf["id"])
    assert body["status"] == "error"
    snap = progress(api, body["id"])
    assert snap["status"] == "error" and snap["current_node"] is None
    assert snap["node_progress"]["Fail"]["status"] == "error"
    assert snap["node_progress"]["Fail"]["error"]["message"] == "boom"
    assert snap["node_progress"]["Never"]["status"] == "pending"
    assert [e["node"] for e in snap["errors"]] == ["Fail"]
    assert snap["progress_percentage"] < 100


def test_running_node_from_a_stored_start_event(api, create_workflow, inline_runs):
    """A node whose start is logged but whose run is not stored yet is the running one."""
    wf = create_workflow()
    body = execute(api, wf["id"])
    execution = Execution.objects.get(pk=body["id"])
    # Rewind to "Step 2 has started": drop its run and the events after its start.
    started = ExecutionEvent.objects.get(execution=execution, type="node_started", data__node_name="Step 2")
    ExecutionEvent.objects.filter(execution=execution, sequence__gt=started.sequence).delete()
    execution.node_runs.filter(node_name="Step 2").delete()
    Execution.objects.filter(pk=execution.pk).update(status="running", last_sequence=started.sequence)
    snap = execution_progress(execution)
    assert snap["status"] == "running" and snap["current_node"] == "Step 2"
    assert snap["node_progress"]["Step 2"]["status"] == "running"
    assert snap["node_progress"]["Step 2"]["start_time"] == started.data["start_time"]
    assert snap["completed_nodes"] == 2 and snap["last_sequence"] == started.sequence


def test_others_get_404_and_anonymous_401(api, other_api, anon_api, staff_api, create_workflow):
    wf = create_workflow()
    body = execute(api, wf["id"], wait=False)
    assert other_api.get(f"/api/executions/{body['id']}/progress/").status_code == 404
    assert anon_api.get(f"/api/executions/{body['id']}/progress/").status_code == 401
    assert staff_api.get(f"/api/executions/{body['id']}/progress/").status_code == 200
