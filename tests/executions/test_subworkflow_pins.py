"""Sub-workflows with pin data and partial runs (issue 8, part 7).

Pins in a child apply when the root of the chain is a test run; an inline child never takes its
caller's pins; a partial run of a parent reuses the stored output of an Execute Workflow node
like any other node's, without calling the child again.
"""

from __future__ import annotations

from typing import Any

import pytest

from executions.models import Execution, NodeRun, SubWorkflowExecution
from tests.conftest import chained, make_node
from tests.executions import test_subworkflows as base
from tests.executions.test_subworkflows import call, children, doubler, entry, output, parent_of, set_field

pytestmark = pytest.mark.django_db(transaction=True)

make = base.make  # fixture: builds a workflow through the API, returns its id


@pytest.fixture
def execute(api: Any, inline_runs: None) -> Any:
    def start(workflow_id: int, mode: str = "manual", items: list[Any] | None = None) -> dict[str, Any]:
        body = {"wait_till_completion": True, "mode": mode, "input_data": items or [{"n": 1}]}
        response = api.post(f"/api/workflows/{workflow_id}/execute/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return start


def pin(api: Any, workflow_id: int, node: str, data: list[Any]) -> None:
    response = api.post(f"/api/workflows/{workflow_id}/nodes/{node}/pin-data/", {"data": data}, format="json")
    assert response.status_code == 201, response.content


def lookup(url: str, x: int = 200) -> dict[str, Any]:
    return make_node("Lookup", "httpRequest", 4.2, (x, 0), parameters={"url": url, "options": {}})


# -- pins ---------------------------------------------------------------------------------------------
def test_a_pinned_node_in_a_child_runs_only_in_production_parent_runs(make, execute, api, json_server) -> None:
    url, calls = json_server(lambda path: {"live": True})
    child_id = make(
        chained([entry(inputSource="passthrough"), lookup(f"{url}/lookup"), set_field("Tag", "tag", "child", 400)]),
        name="child",
    )
    pin(api, child_id, "Lookup", [{"pinned": True}])
    parent_id = make(parent_of(call(child_id)), name="parent")

    manual = execute(parent_id, "manual")
    assert manual["status"] == "success", manual["error"]
    assert output(manual) == [{"pinned": True, "tag": "child"}]
    assert calls == []  # the pin stood in for the request
    [child] = children(manual["id"])
    assert child.root_mode == "manual"
    assert NodeRun.objects.get(execution=child, node_name="Lookup").metadata["pinned"] is True

    production = execute(parent_id, "cli")
    assert production["status"] == "success", production["error"]
    assert output(production) == [{"live": True, "tag": "child"}]
    assert calls == ["/lookup"]
    [child] = children(production["id"])
    assert child.root_mode == "cli"
    assert "pinned" not in NodeRun.objects.get(execution=child, node_name="Lookup").metadata


def test_an_inline_child_does_not_take_its_callers_pins(make, execute, api, json_server) -> None:
    """The inline child runs under its caller's workflow: a caller's pin must not match its nodes."""
    url, calls = json_server(lambda path: {"path": path})
    inline = chained([entry(inputSource="passthrough"), lookup(f"{url}/child")])
    parent_id = make(
        parent_of(lookup(f"{url}/parent"), call(0, x=400, source="parameter", workflowJson=inline)), name="parent"
    )
    pin(api, parent_id, "Lookup", [{"pinned": "parent"}])

    body = execute(parent_id, "manual")

    assert body["status"] == "success", body["error"]
    assert body["run_data"]["Lookup"][0]["pinned"] is True
    assert calls == ["/child"]  # the parent's Lookup was pinned, the child's ran
    assert output(body) == [{"path": "/child"}]


def test_a_pinned_execute_workflow_node_calls_no_child_in_a_manual_run(make, execute, api) -> None:
    child_id = make(doubler(), name="child")
    parent_id = make(parent_of(call(child_id)), name="parent")
    pin(api, parent_id, "Call", [{"from": "pin"}])
    body = execute(parent_id, "manual")
    assert body["status"] == "success", body["error"]
    assert output(body) == [{"from": "pin"}]
    assert children(body["id"]) == []


# -- partial runs -------------------------------------------------------------------------------------
def partial(api: Any, workflow_id: int, **body: Any) -> dict[str, Any]:
    response = api.post(
        f"/api/workflows/{workflow_id}/execute/partial/", {**body, "wait_till_completion": True}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_partial_run_after_an_execute_workflow_node_does_not_call_the_child_again(make, execute, api) -> None:
    child_id = make(doubler(), name="child")
    parent_id = make(parent_of(call(child_id), set_field("After", "after", "yes", 400)), name="parent")
    first = execute(parent_id, "manual")
    assert first["status"] == "success", first["error"]

    again = partial(api, parent_id, destination_node="After", previous_execution_id=first["id"])

    assert again["status"] == "success", again["error"]
    assert again["run_data"]["Call"][0]["reused_from"] == first["id"]
    assert again["run_data"]["After"][0]["reused_from"] is None
    assert output(again, "After") == [{"n": 1, "double": "2", "tag": "child", "after": "yes"}]
    assert children(again["id"]) == []
    assert Execution.objects.filter(workflow_id=child_id).count() == 1
    assert SubWorkflowExecution.objects.count() == 1


def test_a_partial_run_with_the_execute_workflow_node_dirty_calls_the_child(make, execute, api) -> None:
    child_id = make(doubler(), name="child")
    parent_id = make(parent_of(call(child_id), set_field("After", "after", "yes", 400)), name="parent")
    first = execute(parent_id, "manual", [{"n": 3}])

    again = partial(api, parent_id, destination_node="After", previous_execution_id=first["id"], dirty_nodes=["Call"])

    assert again["status"] == "success", again["error"]
    assert again["run_data"]["Call"][0]["reused_from"] is None
    [child] = children(again["id"])
    assert child.execution_stack[0]["workflow_id"] == parent_id and child.status == "success"
    assert output(again, "After") == [{"n": 3, "double": "6", "tag": "child", "after": "yes"}]
    assert Execution.objects.filter(workflow_id=child_id).count() == 2
