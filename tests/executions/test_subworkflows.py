"""Sub-workflows (blueprint section 5): child executions through the API, run inline.

Each test builds real workflows, runs the parent through ``POST /execute/`` (the run happens
in the request: ``inline_runs``) and asserts on the stored executions, call records and run
data. Children run inside the parent's run, as they do in a worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from executions.models import Execution, NodeRun, SubWorkflowExecution
from tests.conftest import _client_for, chained, connect, make_node
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)

Definition = dict[str, Any]


# -- builders -----------------------------------------------------------------------------------------
def entry(**parameters: Any) -> Definition:
    return make_node("In", "executeWorkflowTrigger", 1.1, (0, 0), parameters=parameters)


def passthrough() -> Definition:
    """An entry that hands the caller's items on as they are."""
    return entry(inputSource="passthrough")


def call(workflow_id: Any, name: str = "Call", x: int = 200, **parameters: Any) -> Definition:
    return make_node(
        name,
        "executeWorkflow",
        1.2,
        (x, 0),
        parameters={"workflowId": {"__rl": True, "value": str(workflow_id), "mode": "id"}, **parameters},
    )


def set_field(name: str, field: str, value: str, x: int) -> Definition:
    return make_node(
        name,
        "set",
        3.4,
        (x, 0),
        parameters={
            "mode": "manual",
            "includeOtherFields": True,
            "assignments": {"assignments": [{"id": field, "name": field, "value": value, "type": "string"}]},
        },
    )


def fail(message: str = "child broke", x: int = 400) -> Definition:
    return make_node("Fail", "stopAndError", 1, (x, 0), parameters={"errorMessage": message})


def parent_of(*nodes: Definition) -> Definition:
    return chained([make_node("Start", "manualTrigger"), *nodes])


@pytest.fixture
def make(create_workflow: Callable[..., dict[str, Any]]) -> Callable[..., int]:
    def build(definition: Definition, name: str = "wf", **extra: Any) -> int:
        return int(create_workflow(definition, name=name, **extra)["id"])

    return build


@pytest.fixture
def run(api: APIClient, inline_runs: None) -> Callable[..., dict[str, Any]]:
    def execute(workflow_id: int, items: list[Any] | None = None, client: APIClient | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"wait_till_completion": True}
        if items is not None:
            body["input_data"] = items
        response = (client or api).post(f"/api/workflows/{workflow_id}/execute/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return execute


def output(body: dict[str, Any], node: str = "Call") -> list[Any]:
    return [item["json"] for item in body["run_data"][node][0]["data"]["main"][0]]


def children(execution_id: int) -> list[Execution]:
    return list(Execution.objects.filter(parent_execution_id=execution_id).order_by("id"))


def doubler() -> Definition:
    """The usual child: In → Double (sets ``double``) → Tag (sets ``tag``)."""
    return chained(
        [
            entry(inputSource="passthrough"),
            set_field("Double", "double", "={{ $json.n * 2 }}", 200),
            set_field("Tag", "tag", "child", 400),
        ]
    )


# -- parts 1 and 2: the call and the child execution --------------------------------------------------
def test_a_child_runs_as_an_integrated_execution_linked_to_its_parent(make, run) -> None:
    child_id = make(doubler(), name="child")
    parent_id = make(parent_of(call(child_id)), name="parent")
    body = run(parent_id, [{"n": 1}, {"n": 2}])

    assert body["status"] == "success", body["error"]
    assert output(body) == [{"n": 1, "double": "2", "tag": "child"}, {"n": 2, "double": "4", "tag": "child"}]
    [child] = children(body["id"])
    assert child.mode == "integrated" and child.status == "success"
    assert child.workflow_id == child_id and child.triggered_by_id == body["id"]
    assert child.execution_depth == 1
    assert [e["workflow_id"] for e in child.execution_stack] == [parent_id, child_id]
    assert child.root_mode == "manual"
    assert child.trigger_node == "In"
    record = SubWorkflowExecution.objects.get(child_execution=child)
    assert record.parent_execution_id == body["id"] and record.node_name == "Call"
    assert record.status == "success" and record.completed_at is not None and record.error_details is None
    assert [i["json"] for i in record.input_data] == [{"n": 1}, {"n": 2}]
    assert [i["json"]["double"] for i in record.output_data] == ["2", "4"]
    assert record.config["mode"] == "once" and record.config["outputMode"] == "lastNode"
    run_meta = body["run_data"]["Call"][0]["metadata"]
    assert run_meta["sub_executions"] == [
        {"executionId": str(child.pk), "workflowId": str(child_id), "status": "success"}
    ]


def test_each_mode_runs_one_child_per_item(make, run) -> None:
    child_id = make(doubler(), name="child")
    parent_id = make(parent_of(call(child_id, mode="each")), name="parent")
    body = run(parent_id, [{"n": 1}, {"n": 2}, {"n": 3}])

    assert body["status"] == "success", body["error"]
    assert [i["double"] for i in output(body)] == ["2", "4", "6"]
    kids = children(body["id"])
    assert len(kids) == 3 and {k.status for k in kids} == {"success"}
    records = SubWorkflowExecution.objects.filter(parent_execution_id=body["id"]).order_by("item_index")
    assert [(r.item_index, r.input_data[0]["json"]) for r in records] == [(0, {"n": 1}), (1, {"n": 2}), (2, {"n": 3})]
    items = body["run_data"]["Call"][0]["data"]["main"][0]
    assert [i["pairedItem"] for i in items] == [{"item": 0}, {"item": 1}, {"item": 2}]


def test_each_mode_with_concurrency_runs_children_side_by_side(make, run) -> None:
    server = SlowServer(0.3)
    try:
        slow = make_node("Slow", "httpRequest", 4.2, (200, 0), parameters={"url": server.url})
        child_id = make(
            chained(
                [
                    entry(inputSource="passthrough"),
                    slow,
                    set_field("Double", "double", "={{ $('In').item.json.n * 2 }}", 400),
                ]
            )
        )
        parent_id = make(parent_of(call(child_id, mode="each", concurrency=3)), name="parent")
        started = time.monotonic()
        body = run(parent_id, [{"n": i} for i in range(6)])
        took = time.monotonic() - started
    finally:
        server.close()

    assert body["status"] == "success", body["error"]
    assert [i["double"] for i in output(body)] == [str(2 * i) for i in range(6)]  # item order is kept
    kids = children(body["id"])
    assert len(kids) == 6 and {k.status for k in kids} == {"success"}
    # Six children of 0.3 s each, three at a time: two rounds, not six.
    assert took < 6 * 0.3
    overlapping = [
        (a.pk, b.pk)
        for a in kids
        for b in kids
        if a.pk < b.pk and a.started_at < b.stopped_at and b.started_at < a.stopped_at
    ]
    assert overlapping


def test_nested_three_levels(make, run) -> None:
    leaf = make(
        chained(
            [
                entry(inputSource="passthrough"),
                set_field("Where", "where", "={{ $depth }}:{{ $stack.join('/') }}:{{ $parent.workflowId }}", 200),
            ]
        ),
        name="leaf",
    )
    middle = make(chained([entry(inputSource="passthrough"), call(leaf, name="Call leaf")]), name="middle")
    top = make(parent_of(call(middle, name="Call middle")), name="top")
    body = run(top, [{"n": 1}])

    assert body["status"] == "success", body["error"]
    assert output(body, "Call middle") == [{"n": 1, "where": f"2:{top}/{middle}/{leaf}:{middle}"}]
    [mid] = children(body["id"])
    [low] = children(mid.pk)
    assert (mid.execution_depth, low.execution_depth) == (1, 2)
    assert [e["workflow_id"] for e in low.execution_stack] == [top, middle, leaf]
    assert low.parent_execution_id == mid.pk and low.triggered_by_id == mid.pk
    assert low.root_mode == "manual"


def test_the_child_sees_parent_variables_and_mapped_variables(make, run) -> None:
    leaf = make(
        chained(
            [
                entry(inputSource="passthrough"),
                set_field("Vars", "seen", "={{ $vars.region }}/{{ $parent.mode }}/{{ $execution.mode }}", 200),
            ]
        ),
        name="leaf",
    )
    parent = make(parent_of(call(leaf, variableMapping={"region": "={{ $json.region }}"})), name="parent")
    body = run(parent, [{"region": "eu"}])
    assert output(body) == [{"region": "eu", "seen": "eu/manual/test"}]
    [child] = children(body["id"])
    assert SubWorkflowExecution.objects.get(child_execution=child).config["variables"] == {"region": "eu"}


def test_binary_data_passes_through_to_the_child_and_back(make, run) -> None:
    child_id = make(chained([entry(inputSource="passthrough"), make_node("Same", position=(200, 0))]), name="child")
    parent_id = make(parent_of(call(child_id)), name="parent")
    binary = {"file": {"mimeType": "text/plain", "fileName": "a.txt", "id": "storage:abc"}}
    body = run(parent_id, [{"json": {"n": 1}, "binary": binary}])
    assert body["run_data"]["Call"][0]["data"]["main"][0][0]["binary"] == binary


def test_an_inline_workflow_json_child(make, run) -> None:
    inline = doubler()
    parent_id = make(parent_of(call(0, source="parameter", workflowJson=inline)), name="parent")
    body = run(parent_id, [{"n": 5}])
    assert body["status"] == "success", body["error"]
    assert output(body) == [{"n": 5, "double": "10", "tag": "child"}]
    [child] = children(body["id"])
    assert child.workflow_id == parent_id  # runs under its caller's workflow
    assert child.execution_stack[-1]["workflow_id"] is None
    assert child.workflow_snapshot["nodes"][1]["name"] == "Double"


def test_an_invalid_inline_workflow_fails_with_the_field(make, run) -> None:
    bad = {"nodes": [{"name": "X", "type": "n8n-nodes-base.nope", "typeVersion": 1, "position": [0, 0]}]}
    parent_id = make(parent_of(call(0, source="parameter", workflowJson=bad)), name="parent")
    body = run(parent_id, [{}])
    assert body["status"] == "error"
    assert body["error"]["type"] == "WorkflowNotCallableError"
    assert "workflowJson" in body["error"]["message"] and "n8n-nodes-base.nope" in body["error"]["message"]
    assert children(body["id"]) == []


def test_the_trigger_input_schema_trims_and_fills_with_null(make, run) -> None:
    schema = {"workflowInputs": {"values": [{"name": "id", "type": "number"}, {"name": "email", "type": "string"}]}}
    child_id = make(chained([entry(**schema), make_node("Out", position=(200, 0))]), name="child")
    parent_id = make(parent_of(call(child_id)), name="parent")
    body = run(parent_id, [{"id": 1, "email": "a@x", "password": "s3cret"}, {"id": 2}])
    assert output(body) == [{"id": 1, "email": "a@x"}, {"id": 2, "email": None}]


def test_a_child_without_an_execute_workflow_trigger_cannot_be_called(make, run) -> None:
    child_id = make(chained([make_node("Manual", "manualTrigger"), make_node("Out", position=(200, 0))]))
    body = run(make(parent_of(call(child_id))), [{}])
    assert body["status"] == "error"
    assert (
        body["error"]["message"]
        == f"Workflow {child_id} has no enabled Execute Workflow Trigger node, so it cannot be called"
    )


def test_a_child_may_be_inactive(make, run) -> None:
    child_id = make(doubler(), active=False)
    body = run(make(parent_of(call(child_id))), [{"n": 1}])
    assert body["status"] == "success"


def test_a_workflow_is_found_by_its_n8n_id(make, run) -> None:
    child_id = make(doubler(), name="child")
    Workflow.objects.filter(pk=child_id).update(n8n_id="AbCdEf123")
    body = run(make(parent_of(call("AbCdEf123"))), [{"n": 4}])
    assert body["status"] == "success", body["error"]
    assert children(body["id"])[0].workflow_id == child_id


# -- part 3: limits -----------------------------------------------------------------------------------
def chain_of(make: Callable[..., int], length: int) -> list[int]:
    """``length`` workflows, each calling the next; returns their ids, the top first."""
    ids = [make(doubler(), name="bottom")]
    for level in range(length - 1):
        ids.append(make(chained([entry(inputSource="passthrough"), call(ids[-1])]), name=f"level {level}"))
    return list(reversed(ids))


def test_depth_ten_runs_and_depth_eleven_fails_with_a_depth_error(make, run, settings) -> None:
    assert settings.BUDFLOW["MAX_SUBWORKFLOW_DEPTH"] == 10
    ok = chain_of(make, 10)  # under a top workflow: ten levels of children
    top = make(parent_of(call(ok[0])), name="top ok")
    body = run(top, [{"n": 1}])
    assert body["status"] == "success", body["error"]
    assert output(body) == [{"n": 1, "double": "2", "tag": "child"}]
    deepest = Execution.objects.filter(mode="integrated").order_by("-execution_depth").first()
    assert deepest is not None and deepest.execution_depth == 10 and deepest.status == "success"

    too_deep = chain_of(make, 11)
    body = run(make(parent_of(call(too_deep[0])), name="top deep"), [{"n": 1}])
    assert body["status"] == "error"
    assert body["error"]["type"] == "MaxExecutionDepthError"
    assert "depth" in body["error"]["message"]
    # The refusal happened at the deepest caller: nothing ran at depth 11.
    assert not Execution.objects.filter(execution_depth__gt=10).exists()


def test_the_depth_limit_is_a_setting(make, run, settings) -> None:
    settings.BUDFLOW = {**settings.BUDFLOW, "MAX_SUBWORKFLOW_DEPTH": 2}
    ids = chain_of(make, 3)
    body = run(make(parent_of(call(ids[0])), name="top"), [{"n": 1}])
    assert body["status"] == "error"
    assert "Maximum sub-workflow depth of 2 exceeded" in body["error"]["message"]
    # The failure climbs: each level's call fails with its child's error.
    failed = Execution.objects.filter(mode="integrated", status="error").order_by("execution_depth")
    assert [e.execution_depth for e in failed] == [1, 2]


def test_a_workflow_calling_itself_is_circular_on_the_first_call(make, run, api) -> None:
    wf = make(parent_of(), name="self")
    definition = parent_of(call(wf))
    definition["nodes"].append(entry(inputSource="passthrough"))
    assert api.patch(f"/api/workflows/{wf}/", definition, format="json").status_code == 200
    body = run(wf, [{}])
    assert body["status"] == "error"
    assert body["error"]["type"] == "CircularExecutionError"
    assert (
        body["error"]["message"]
        == f"Circular sub-workflow call: workflow {wf} is already running in this chain ({wf} → {wf})"
    )
    assert children(body["id"]) == []


def test_a_to_b_to_a_is_circular(make, run, api) -> None:
    a = make(parent_of(), name="A")
    b = make(chained([entry(inputSource="passthrough"), call(a)]), name="B")
    definition = parent_of(call(b))
    definition["nodes"].append(entry(inputSource="passthrough"))
    assert api.patch(f"/api/workflows/{a}/", definition, format="json").status_code == 200
    body = run(a, [{}])
    assert body["status"] == "error"
    assert body["error"]["type"] == "CircularExecutionError"
    assert f"({a} → {b} → {a})" in body["error"]["message"]
    [child] = children(body["id"])
    assert child.workflow_id == b and child.status == "error"
    assert children(child.pk) == []


def test_a_missing_child_is_an_error_naming_its_id(make, run) -> None:
    body = run(make(parent_of(call(987654))), [{}])
    assert body["status"] == "error"
    assert body["error"]["message"] == "Workflow 987654 does not exist"
    assert body["error"]["type"] == "WorkflowNotFoundError"
    assert body["error"]["node"] == "Call"


@pytest.fixture
def bobs_child(other: User) -> Callable[..., int]:
    """A child workflow of another user (bob) with the given settings."""

    def build(**wf_settings: Any) -> int:
        client = _client_for(other)
        body = {"name": "bob's", **doubler(), "settings": wf_settings}
        response = client.post("/api/workflows/", body, format="json")
        assert response.status_code == 201, response.content
        return int(response.json()["id"])

    return build


def test_caller_policy_default_refuses_another_owners_workflow(make, run, bobs_child) -> None:
    body = run(make(parent_of(call(bobs_child()))), [{"n": 1}])
    assert body["status"] == "error"
    assert body["error"]["type"] == "CallerPolicyError"
    assert "same owner" in body["error"]["message"]


def test_caller_policy_any_allows_another_owner(make, run, bobs_child) -> None:
    body = run(make(parent_of(call(bobs_child(callerPolicy="any")))), [{"n": 1}])
    assert body["status"] == "success", body["error"]


def test_caller_policy_none_refuses_even_the_owner(make, run) -> None:
    child_id = make(doubler(), name="child", settings={"callerPolicy": "none"})
    body = run(make(parent_of(call(child_id))), [{"n": 1}])
    assert body["status"] == "error"
    assert (
        body["error"]["message"]
        == f"Workflow {child_id} may not be called by other workflows (its callerPolicy is `none`)"
    )
    assert children(body["id"]) == []


def test_caller_policy_from_a_list(make, run, api, bobs_child) -> None:
    parent_id = make(parent_of(call(0)), name="parent")  # its target is set once the child exists
    listed = bobs_child(callerPolicy="workflowsFromAList", callerIds=f"999, {parent_id}")
    unlisted = bobs_child(callerPolicy="workflowsFromAList", callerIds="999")
    assert api.patch(f"/api/workflows/{parent_id}/", parent_of(call(listed)), format="json").status_code == 200
    body = run(parent_id, [{"n": 1}])
    assert body["status"] == "success", body["error"]
    other_parent = make(parent_of(call(unlisted)), name="other")
    body = run(other_parent, [{"n": 1}])
    assert body["status"] == "error" and "callerIds" in body["error"]["message"]


# -- part 4: output modes -----------------------------------------------------------------------------
def branchy() -> Definition:
    """In → Double → Tag, with ``Summary`` last: the outputs differ per mode."""
    return chained(
        [
            entry(inputSource="passthrough"),
            set_field("Double", "double", "={{ $json.n * 2 }}", 200),
            make_node("Count", "aggregate", 1, (400, 0), parameters={"aggregate": "aggregateAllItemData"}),
        ]
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [{"data": [{"n": 1, "double": "2"}, {"n": 2, "double": "4"}]}]),
        ({"outputMode": "lastNode"}, [{"data": [{"n": 1, "double": "2"}, {"n": 2, "double": "4"}]}]),
        ({"outputMode": "specificNode", "outputNode": "Double"}, [{"n": 1, "double": "2"}, {"n": 2, "double": "4"}]),
        (
            {"outputMode": "allNodes"},
            [
                {"n": 1},
                {"n": 2},
                {"n": 1, "double": "2"},
                {"n": 2, "double": "4"},
                {"data": [{"n": 1, "double": "2"}, {"n": 2, "double": "4"}]},
            ],
        ),
    ],
)
def test_output_modes(make, run, params: dict[str, Any], expected: list[Any]) -> None:
    child_id = make(branchy(), name="child")
    body = run(make(parent_of(call(child_id, **params))), [{"n": 1}, {"n": 2}])
    assert body["status"] == "success", body["error"]
    assert output(body) == expected


def test_summary_output_mode(make, run) -> None:
    child_id = make(branchy(), name="child")
    body = run(make(parent_of(call(child_id, outputMode="summary"))), [{"n": 1}, {"n": 2}])
    [summary] = output(body)
    [child] = children(body["id"])
    assert summary["executionId"] == str(child.pk)
    assert summary["status"] == "success" and summary["success"] is True
    assert summary["nodesExecuted"] == 3
    assert summary["summary"] == {"lastNodeExecuted": "Count", "nodeRuns": 3, "outputItems": 1}
    assert summary["executionTime"] >= 0


def test_an_output_node_missing_from_the_child_is_refused(make, run) -> None:
    child_id = make(branchy(), name="child")
    body = run(make(parent_of(call(child_id, outputMode="specificNode", outputNode="Nope"))), [{"n": 1}])
    assert body["status"] == "error"
    assert body["error"]["message"] == f"outputNode 'Nope' does not exist in workflow {child_id}"


# -- part 5: errors -----------------------------------------------------------------------------------
def failing_on_two() -> Definition:
    """A child that fails for the item with ``n == 2``."""
    return {
        "nodes": [
            entry(inputSource="passthrough"),
            make_node(
                "Is two",
                "if",
                2.2,
                (200, 0),
                parameters={
                    "conditions": {
                        "conditions": [
                            {
                                "leftValue": "={{ $json.n }}",
                                "rightValue": 2,
                                "operator": {"type": "number", "operation": "equals"},
                            }
                        ],
                        "combinator": "and",
                    }
                },
            ),
            fail("two is not allowed", 400),
            set_field("Fine", "ok", "yes", 400),
        ],
        "connections": connect(("In", "Is two"), ("Is two", "Fail", 0), ("Is two", "Fine", 1)),
    }


def test_stop_parent_fails_the_parent_with_the_childs_error(make, run) -> None:
    child_id = make(failing_on_two(), name="child")
    parent = parent_of(call(child_id, mode="each"), make_node("After", position=(400, 0)))
    body = run(make(parent), [{"n": 1}, {"n": 2}, {"n": 3}])
    assert body["status"] == "error"
    kids = children(body["id"])
    assert [k.status for k in kids] == ["success", "error"]  # the third item never started
    error = body["error"]
    assert error["message"] == f"Sub-workflow execution {kids[1].pk} failed at node 'Fail': two is not allowed"
    assert error["type"] == "StopAndError"
    assert error["executionId"] == str(kids[1].pk) and error["item_index"] == 1
    assert "After" not in body["run_data"]
    record = SubWorkflowExecution.objects.get(child_execution=kids[1])
    assert record.status == "error" and record.error_details["message"] == "two is not allowed"
    assert record.output_data is None


def test_continue_with_error_turns_each_failed_item_into_an_error_item(make, run) -> None:
    child_id = make(failing_on_two(), name="child")
    parent = parent_of(call(child_id, mode="each", onSubWorkflowError="continueWithError"))
    body = run(make(parent), [{"n": 1}, {"n": 2}, {"n": 3}])
    assert body["status"] == "success"
    kids = children(body["id"])
    assert output(body) == [
        {"n": 1, "ok": "yes"},
        {
            "error": "two is not allowed",
            "errorType": "StopAndError",
            "executionId": str(kids[1].pk),
            "input": {"n": 2},
            "success": False,
        },
        {"n": 3, "ok": "yes"},
    ]


def test_continue_with_empty_drops_each_failed_item(make, run) -> None:
    child_id = make(failing_on_two(), name="child")
    parent = parent_of(call(child_id, mode="each", onSubWorkflowError="continueWithEmpty"))
    body = run(make(parent), [{"n": 1}, {"n": 2}, {"n": 3}])
    assert body["status"] == "success"
    assert output(body) == [{"n": 1, "ok": "yes"}, {"n": 3, "ok": "yes"}]
    assert [k.status for k in children(body["id"])] == ["success", "error", "success"]


def test_a_refused_call_becomes_an_error_item_without_an_execution(make, run) -> None:
    parent = parent_of(call(424242, onSubWorkflowError="continueWithError"))
    body = run(make(parent), [{"n": 1}])
    assert output(body) == [
        {
            "error": "Workflow 424242 does not exist",
            "errorType": "WorkflowNotFoundError",
            "executionId": None,
            "input": {"n": 1},
            "success": False,
        }
    ]


class SlowServer:
    """A local HTTP server answering every GET after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        handler_delay = delay

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(handler_delay)
                body = b'{"slow": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_call_timeout_stops_the_child_and_fails_the_call(make, run) -> None:
    server = SlowServer(0.4)
    try:
        slow = lambda name, x: make_node(name, "httpRequest", 4.2, (x, 0), parameters={"url": server.url})  # noqa: E731
        child_id = make(chained([entry(inputSource="passthrough"), slow("Slow 1", 200), slow("Slow 2", 400)]))
        parent = parent_of(call(child_id, timeout=0.2, onSubWorkflowError="continueWithError"))
        started = time.monotonic()
        body = run(make(parent), [{"n": 1}])
        took = time.monotonic() - started
    finally:
        server.close()
    [child] = children(body["id"])
    assert output(body)[0]["errorType"] == "SubWorkflowTimeoutError"
    assert output(body)[0]["error"] == f"Sub-workflow execution {child.pk} timed out after 0.2 s"
    assert child.status == "canceled"
    assert not NodeRun.objects.filter(execution=child, node_name="Slow 2").exists()
    assert took < 2.0


def test_a_child_that_waits_puts_the_parent_in_waiting(make, run) -> None:
    """The full story (resume, errors, stop, nesting) is in test_subworkflow_waits.py."""
    wait = make_node("Wait", "wait", 1.1, (200, 0), parameters={"resume": "manual"}, webhookId="w")
    child_id = make(chained([entry(inputSource="passthrough"), wait]))
    body = run(make(parent_of(call(child_id))), [{}])
    assert body["status"] == "waiting", body["error"]
    assert body["pause"]["type"] == "subworkflow" and body["waiting_node"] == "Call"
    [child] = children(body["id"])
    assert child.status == "waiting"
    assert SubWorkflowExecution.objects.get(child_execution=child).status == "waiting"


# -- fire and forget ----------------------------------------------------------------------------------
def test_fire_and_forget_returns_input_items_tagged_with_the_child(make, run) -> None:
    child_id = make(doubler(), name="child")
    parent = parent_of(call(child_id, mode="each", options={"waitForSubWorkflow": False}))
    body = run(make(parent), [{"n": 1}, {"n": 2}])
    assert body["status"] == "success"
    items = body["run_data"]["Call"][0]["data"]["main"][0]
    kids = children(body["id"])
    assert [i["json"] for i in items] == [{"n": 1}, {"n": 2}]
    assert [i["metadata"]["subExecution"] for i in items] == [
        {"executionId": str(k.pk), "workflowId": str(child_id)} for k in kids
    ]
    # Queued, not run in the parent: here the queue runs inline, so they have finished too, and
    # their calls, recorded ``queued``, took the child's outcome when it ended.
    assert {k.status for k in kids} == {"success"}
    records = SubWorkflowExecution.objects.filter(parent_execution_id=body["id"]).order_by("item_index")
    assert [r.status for r in records] == ["success", "success"]
    assert [r.output_data[0]["json"]["double"] for r in records] == ["2", "4"]
    assert all(r.completed_at is not None for r in records)


def test_fire_and_forget_is_queued_not_run(make, monkeypatch) -> None:
    """Without an inline queue the child stays ``new`` for a worker, and the parent is done."""
    from executions.services import execution_create, subworkflows
    from executions.services.worker import execution_run

    child_id = make(doubler(), name="child")
    parent_id = make(parent_of(call(child_id, options={"waitForSubWorkflow": False})), name="parent")
    queued: list[int] = []
    monkeypatch.setattr(subworkflows, "enqueue_execution", lambda pk, **kw: queued.append(pk))
    execution = execution_create(workflow=Workflow.objects.get(pk=parent_id), user=None, defer_enqueue=True)
    assert execution_run(execution_id=execution.pk) == "success"
    [child] = children(execution.pk)
    assert queued == [child.pk] and child.status == "new"
    assert SubWorkflowExecution.objects.get(child_execution=child).status == "queued"
    assert execution_run(execution_id=child.pk) == "success"  # a worker takes it later
    record = SubWorkflowExecution.objects.get(child_execution=child)
    assert record.status == "success" and record.output_data[0]["json"]["tag"] == "child"


# -- the API and the admin ----------------------------------------------------------------------------
def test_children_endpoint_lists_the_integrated_children(make, run, api, other_api, staff_api) -> None:
    child_id = make(doubler(), name="child")
    body = run(make(parent_of(call(child_id, mode="each"))), [{"n": 1}, {"n": 2}])
    kids = children(body["id"])
    response = api.get(f"/api/executions/{body['id']}/children/")
    assert response.status_code == 200
    listed = response.json()["results"]
    assert [c["id"] for c in listed] == [k.pk for k in kids]
    assert {c["mode"] for c in listed} == {"integrated"}
    assert [c["subworkflow"]["item_index"] for c in listed] == [0, 1]
    assert listed[0]["subworkflow"]["node"] == "Call" and listed[0]["parent_execution_id"] == body["id"]
    assert api.get(f"/api/executions/{kids[0].pk}/children").json()["results"] == []
    assert other_api.get(f"/api/executions/{body['id']}/children/").status_code == 404
    assert staff_api.get(f"/api/executions/{body['id']}/children/").json()["count"] == 2
    filtered = api.get(f"/api/executions/?parent_execution={body['id']}").json()["results"]
    assert {c["id"] for c in filtered} == {k.pk for k in kids}


def test_children_endpoint_hides_children_of_other_owners(make, run, api, bobs_child) -> None:
    body = run(make(parent_of(call(bobs_child(callerPolicy="any")))), [{"n": 1}])
    assert body["status"] == "success"
    assert len(children(body["id"])) == 1
    assert api.get(f"/api/executions/{body['id']}/children/").json()["results"] == []


def test_partial_runs_are_not_children(make, run, api) -> None:
    wf = make(parent_of(make_node("Step", position=(200, 0))))
    first = run(wf)
    partial = api.post(
        f"/api/workflows/{wf}/execute/partial/",
        {"destination_node": "Step", "previous_execution_id": first["id"], "wait_till_completion": True},
        format="json",
    )
    assert partial.status_code == 201, partial.content
    assert partial.json()["parent_execution_id"] == first["id"]
    assert api.get(f"/api/executions/{first['id']}/children/").json()["results"] == []


def test_admin_links_parent_and_children(make, run) -> None:
    child_id = make(doubler(), name="child")
    body = run(make(parent_of(call(child_id))), [{"n": 1}])
    [child] = children(body["id"])
    client = APIClient()
    client.force_login(User.objects.create_superuser("root", password="root-password"))
    page = client.get(f"/admin/executions/execution/{body['id']}/change/").content.decode()
    assert f"/admin/executions/execution/{child.pk}/change/" in page
    page = client.get(f"/admin/executions/execution/{child.pk}/change/").content.decode()
    assert f"/admin/executions/execution/{body['id']}/change/" in page
