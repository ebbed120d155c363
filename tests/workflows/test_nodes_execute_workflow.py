"""Execute Workflow and Execute Workflow Trigger in the pure engine, with a fake host port.

The host side (child executions, records, limits against stored workflows) is tested in
``tests/executions/test_subworkflows.py``; here the node's own rules: which calls it makes,
what comes out per output mode and error policy, and the pure checks it relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import items_of
from tests.workflows.expression_helpers import ev, make_ctx
from workflows.engine.context import ExecutionInfo
from workflows.engine.errors import ParameterError, WorkflowValidationError
from workflows.engine.registry import default_registry
from workflows.engine.runner import WorkflowRunner, start_state
from workflows.engine.state import NodeRunRecord
from workflows.engine.subworkflows import (
    CallerPolicyError,
    CircularExecutionError,
    MaxDepthError,
    NotCallableError,
    SubWorkflowCall,
    SubWorkflowOutcome,
    check_call,
    check_caller_policy,
    find_trigger,
    select_output,
)
from workflows.engine.validation import validate_workflow


class FakePort:
    """Answers each call with ``answer(call)``; records the calls and the options."""

    def __init__(self, answer: Any = None) -> None:
        self.calls: list[SubWorkflowCall] = []
        self.options: list[dict[str, Any]] = []
        self.answer = answer or (lambda call: SubWorkflowOutcome("success", "c1", "7", [{"json": {"ok": True}}]))
        self.later = []
        self.abandoned = []

    def run(
        self, calls: Sequence[SubWorkflowCall], *, concurrency: int = 1, stop_on_error: bool = False
    ) -> list[SubWorkflowOutcome]:
        self.calls.extend(calls)
        self.options.append({"concurrency": concurrency, "stop_on_error": stop_on_error})
        outcomes: list[SubWorkflowOutcome] = []
        for call in calls:
            if stop_on_error and any(o.failed for o in outcomes):
                outcomes.append(SubWorkflowOutcome("skipped"))
            else:
                outcomes.append(self.answer(call))
        return outcomes

    # After a resume: the outcomes as they stand now (``later``), and the children given up.
    later: list[SubWorkflowOutcome]
    abandoned: list[tuple[list[str], str, dict[str, Any]]]

    def collect(self, node: str, run_index: int) -> list[SubWorkflowOutcome]:
        return self.later

    def abandon(self, execution_ids: Sequence[str], *, status: str, error: dict[str, Any]) -> None:
        self.abandoned.append((list(execution_ids), status, error))


def call_node(**parameters: Any) -> dict[str, Any]:
    return make_node(
        "Call", "executeWorkflow", 1.2, (200, 0), parameters={"workflowId": {"__rl": True, "value": "7"}, **parameters}
    )


def run_call(node: dict[str, Any], items: list[dict[str, Any]], port: FakePort, **info: Any) -> WorkflowRunner:
    nodes = [make_node("Start", "manualTrigger"), node]
    runner = WorkflowRunner(
        nodes=nodes,
        connections=connect(("Start", "Call")),
        registry=default_registry(),
        state=start_state("Start", items),
        execution=ExecutionInfo(subworkflows=port, **info),
    )
    runner.result = runner.run()  # type: ignore[attr-defined]
    return runner


def out(runner: WorkflowRunner) -> list[dict[str, Any]]:
    output = runner.run_data["Call"][0].output
    assert output is not None, runner.run_data["Call"][0].error
    return output[0]


def fail_on(*values: int) -> Any:
    def answer(call: SubWorkflowCall) -> SubWorkflowOutcome:
        n = call.items[0]["json"]["n"]
        if n in values:
            return SubWorkflowOutcome("error", f"c{n}", "7", error={"message": f"bad {n}", "type": "StopAndError"})
        return SubWorkflowOutcome("success", f"c{n}", "7", [{"json": {"double": n * 2}}])

    return answer


# -- parameters ---------------------------------------------------------------------------------------
def validate(parameters: dict[str, Any], type_: str = "executeWorkflow", version: float = 1.2) -> None:
    validate_workflow([make_node("N", type_, version, parameters=parameters)], {}, {}, default_registry())


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({}, "workflowId"),
        ({"workflowId": {"__rl": True, "value": ""}}, "workflowId"),
        ({"source": "localFile"}, "source"),
        ({"source": "parameter", "workflowJson": "{not json"}, "workflowJson"),
        ({"source": "parameter", "workflowJson": '{"name": "no nodes"}'}, "workflowJson"),
        ({"workflowId": "7", "mode": "many"}, "mode"),
        ({"workflowId": "7", "outputMode": "firstNode"}, "outputMode"),
        ({"workflowId": "7", "outputMode": "specificNode"}, "outputNode"),
        ({"workflowId": "7", "onSubWorkflowError": "ignore"}, "onSubWorkflowError"),
        ({"workflowId": "7", "timeout": 0}, "timeout"),
        ({"workflowId": "7", "concurrency": 0}, "concurrency"),
        ({"workflowId": "7", "variableMapping": ["x"]}, "variableMapping"),
        ({"workflowId": "7", "options": {"waitForSubWorkflow": "no"}}, "waitForSubWorkflow"),
    ],
)
def test_invalid_parameters_are_refused_naming_the_field(parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        validate(parameters)
    assert any(field in key for key in info.value.errors), info.value.errors


def test_valid_parameters_pass() -> None:
    validate({"workflowId": "={{ $json.target }}", "mode": "each", "concurrency": 4, "timeout": 2.5})
    validate({"source": "parameter", "workflowJson": {"nodes": [], "connections": {}}})
    validate({"workflowId": 7, "outputMode": "specificNode", "outputNode": "Out", "variableMapping": {"a": "=1"}})


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"inputSource": "form"}, "inputSource"),
        ({"inputSource": "jsonExample", "jsonExample": "[1]"}, "jsonExample"),
        ({"workflowInputs": {"values": [{"name": ""}]}}, "workflowInputs.values[0].name"),
        ({"workflowInputs": {"values": [{"name": "a"}, {"name": "a"}]}}, "workflowInputs.values[1].name"),
        ({"workflowInputs": {"values": [{"name": "a", "type": "date"}]}}, "workflowInputs.values[0].type"),
    ],
)
def test_trigger_parameters_are_checked(parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        validate(parameters, "executeWorkflowTrigger", 1.1)
    assert any(key.endswith(field) for key in info.value.errors), info.value.errors


def test_caller_policy_setting_is_checked() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow([], {}, {"callerPolicy": "everyone"}, default_registry())
    assert "settings.callerPolicy" in info.value.errors
    validate_workflow([], {}, {"callerPolicy": "workflowsFromAList", "callerIds": "3, 4"}, default_registry())


# -- the trigger's input schema -----------------------------------------------------------------------
def trigger_output(parameters: dict[str, Any], items: list[dict[str, Any]], version: float = 1.1) -> list[Any]:
    node = make_node("In", "executeWorkflowTrigger", version, parameters=parameters)
    node_type = default_registry().get(node["type"])
    assert node_type is not None
    node_type.validate_parameters(parameters, node)
    ctx = make_ctx(items, parameters=parameters)
    ctx.node = node
    result = node_type.execute(ctx)
    assert isinstance(result, list)
    return [item["json"] for item in result[0]]


def test_trigger_keeps_declared_fields_and_fills_missing_with_null() -> None:
    fields = {"workflowInputs": {"values": [{"name": "id", "type": "number"}, {"name": "email"}]}}
    got = trigger_output(fields, items_of({"id": 1, "email": "a@x", "secret": "s"}, {"id": 2}))
    assert got == [{"id": 1, "email": "a@x"}, {"id": 2, "email": None}]


def test_trigger_json_example_declares_its_top_level_keys() -> None:
    params = {"inputSource": "jsonExample", "jsonExample": '{"a": 1, "b": {"c": 2}}'}
    assert trigger_output(params, items_of({"a": 5, "z": 0})) == [{"a": 5, "b": None}]


def test_trigger_passthrough_without_schema_and_in_version_1() -> None:
    items = items_of({"a": 1, "b": 2})
    assert trigger_output({"inputSource": "passthrough"}, items) == [{"a": 1, "b": 2}]
    assert trigger_output({}, items) == [{"a": 1, "b": 2}]  # no field declared
    assert trigger_output({"workflowInputs": {"values": [{"name": "a"}]}}, items, version=1.0) == [{"a": 1, "b": 2}]


def test_trigger_without_input_emits_one_empty_item() -> None:
    assert trigger_output({"inputSource": "passthrough"}, []) == [{}]


# -- limits and policy --------------------------------------------------------------------------------
def test_a_workflow_already_on_the_stack_is_a_cycle_even_on_its_first_call() -> None:
    with pytest.raises(CircularExecutionError, match=r"workflow 1 is already running in this chain \(1 → 1\)"):
        check_call(stack=["1"], depth=0, target="1", max_depth=10)
    with pytest.raises(CircularExecutionError, match=r"\(1 → 2 → 1\)"):
        check_call(stack=["1", "2"], depth=1, target="1", max_depth=10)
    check_call(stack=["1", "2"], depth=1, target="3", max_depth=10)
    check_call(stack=["1"], depth=0, target=None, max_depth=10)  # an inline child has no id


def test_depth_ten_runs_and_eleven_fails() -> None:
    check_call(stack=[str(i) for i in range(10)], depth=9, target="x", max_depth=10)
    with pytest.raises(MaxDepthError, match="depth of 10 exceeded: the child would run at depth 11"):
        check_call(stack=[str(i) for i in range(11)], depth=10, target="x", max_depth=10)


@pytest.mark.parametrize(
    ("settings", "aliases", "same_owner", "allowed"),
    [
        ({}, ["1"], True, True),
        ({}, ["1"], False, False),  # workflowsFromSameOwner is the default
        ({"callerPolicy": "any"}, ["1"], False, True),
        ({"callerPolicy": "none"}, ["1"], True, False),
        ({"callerPolicy": "workflowsFromAList", "callerIds": "4, 1 "}, ["1"], False, True),
        ({"callerPolicy": "workflowsFromAList", "callerIds": "4,5"}, ["1"], True, False),
        ({"callerPolicy": "workflowsFromAList", "callerIds": "abcN8n"}, ["1", "abcN8n"], False, True),
    ],
)
def test_caller_policy(settings: dict[str, Any], aliases: list[str], same_owner: bool, allowed: bool) -> None:
    def check() -> None:
        check_caller_policy(settings=settings, target="9", caller="1", caller_aliases=aliases, same_owner=same_owner)

    if allowed:
        check()
    else:
        with pytest.raises(CallerPolicyError, match="Workflow 9 may"):
            check()


def test_the_child_needs_an_enabled_execute_workflow_trigger() -> None:
    nodes = [
        make_node("Off", "executeWorkflowTrigger", 1.1, (0, 0), disabled=True),
        make_node("Low", "executeWorkflowTrigger", 1.1, (0, 300)),
        make_node("High", "executeWorkflowTrigger", 1.1, (500, 100)),
    ]
    assert find_trigger(nodes, "5") == "High"
    with pytest.raises(NotCallableError, match="Workflow 5 has no enabled Execute Workflow Trigger"):
        find_trigger([make_node("M", "manualTrigger")], "5")


# -- output selection ---------------------------------------------------------------------------------
def record(node: str, index: int, output: list[Any] | None, status: str = "success", run: int = 0) -> NodeRunRecord:
    return NodeRunRecord(node, "t", run, index, status, 0.0, 1.0, [None], output)


CHILD_RUNS = {
    "In": [record("In", 0, [[{"json": {"n": 1}, "pairedItem": {"item": 0}}]])],
    "If": [record("If", 1, [[], [{"json": {"n": 1}, "pairedItem": {"item": 0}}]])],
    "Out": [record("Out", 2, [[{"json": {"r": 1}, "pairedItem": {"item": 0}}, {"json": {"r": 2}}]])],
}


def select(mode: str, last: str = "Out", node: str | None = None) -> list[Any]:
    return select_output(
        run_data=CHILD_RUNS,
        last_node=last,
        output_mode=mode,
        output_node=node,
        execution_id="42",
        status="success",
        execution_time_ms=12.3456,
    )


def test_output_modes() -> None:
    assert select("lastNode") == [{"json": {"r": 1}}, {"json": {"r": 2}}]
    assert select("lastNode", last="If") == [{"json": {"n": 1}}]  # output 0 is empty: the first with items
    assert select("specificNode", node="In") == [{"json": {"n": 1}}]
    assert select("specificNode", node="Never ran") == []
    assert [i["json"] for i in select("allNodes")] == [{"n": 1}, {"n": 1}, {"r": 1}, {"r": 2}]
    assert select("summary") == [
        {
            "json": {
                "executionId": "42",
                "status": "success",
                "success": True,
                "executionTime": 12.346,
                "nodesExecuted": 3,
                "summary": {"lastNodeExecuted": "Out", "nodeRuns": 3, "outputItems": 2},
            }
        }
    ]


# -- the node with a fake host ------------------------------------------------------------------------
def test_once_mode_sends_all_items_to_one_child_and_pairs_outputs_one_to_one() -> None:
    port = FakePort(lambda call: SubWorkflowOutcome("success", "c", "7", [{"json": {"x": 1}}, {"json": {"x": 2}}]))
    runner = run_call(call_node(), items_of({"n": 1}, {"n": 2}), port)
    assert len(port.calls) == 1
    call = port.calls[0]
    assert call.item_index is None and call.workflow_ref == "7" and call.source == "database"
    assert [i["json"] for i in call.items] == [{"n": 1}, {"n": 2}]
    assert out(runner) == [{"json": {"x": 1}, "pairedItem": {"item": 0}}, {"json": {"x": 2}, "pairedItem": {"item": 1}}]
    assert runner.run_data["Call"][0].metadata["sub_executions"] == [
        {"executionId": "c", "workflowId": "7", "status": "success"}
    ]


def test_once_mode_output_of_another_length_derives_from_every_input() -> None:
    runner = run_call(call_node(), items_of({"n": 1}, {"n": 2}), FakePort())
    assert out(runner) == [{"json": {"ok": True}, "pairedItem": [{"item": 0}, {"item": 1}]}]


def test_each_mode_makes_one_call_per_item_with_concurrency() -> None:
    port = FakePort(fail_on())
    runner = run_call(call_node(mode="each", concurrency=3), items_of({"n": 1}, {"n": 2}, {"n": 3}), port)
    assert [c.item_index for c in port.calls] == [0, 1, 2]
    assert [[i["json"] for i in c.items] for c in port.calls] == [[{"n": 1}], [{"n": 2}], [{"n": 3}]]
    assert port.options == [{"concurrency": 3, "stop_on_error": True}]
    assert [(i["json"], i["pairedItem"]) for i in out(runner)] == [
        ({"double": 2}, {"item": 0}),
        ({"double": 4}, {"item": 1}),
        ({"double": 6}, {"item": 2}),
    ]


def test_stop_parent_fails_the_node_at_the_first_failing_item() -> None:
    port = FakePort(fail_on(2, 3))
    runner = run_call(call_node(mode="each"), items_of({"n": 1}, {"n": 2}, {"n": 3}), port)
    assert runner.result.status == "error"  # type: ignore[attr-defined]
    error = runner.run_data["Call"][0].error
    assert error == {
        "message": "Sub-workflow execution c2 failed: bad 2",
        "type": "StopAndError",
        "node": "Call",
        "item_index": 1,
        "executionId": "c2",
        "subWorkflowId": "7",
    }
    # The children that ran are listed on the failed run; the third was never started.
    assert [s["executionId"] for s in runner.run_data["Call"][0].metadata["sub_executions"]] == ["c1", "c2"]


def test_continue_with_error_gives_one_error_item_per_failed_item() -> None:
    items = items_of({"n": 1}, {"n": 2}, {"n": 3})
    runner = run_call(call_node(mode="each", onSubWorkflowError="continueWithError"), items, FakePort(fail_on(2)))
    assert out(runner) == [
        {"json": {"double": 2}, "pairedItem": {"item": 0}},
        {
            "json": {
                "error": "bad 2",
                "errorType": "StopAndError",
                "executionId": "c2",
                "input": {"n": 2},
                "success": False,
            },
            "pairedItem": {"item": 1},
        },
        {"json": {"double": 6}, "pairedItem": {"item": 2}},
    ]


def test_continue_with_empty_drops_the_failed_items() -> None:
    items = items_of({"n": 1}, {"n": 2}, {"n": 3})
    port = FakePort(fail_on(1, 3))
    runner = run_call(call_node(mode="each", onSubWorkflowError="continueWithEmpty"), items, port)
    assert port.options == [{"concurrency": 1, "stop_on_error": False}]
    assert out(runner) == [{"json": {"double": 4}, "pairedItem": {"item": 1}}]


def test_once_mode_error_item_per_input_item() -> None:
    port = FakePort(lambda call: SubWorkflowOutcome("error", None, "7", error={"message": "nope", "type": "X"}))
    runner = run_call(call_node(onSubWorkflowError="continueWithError"), items_of({"n": 1}, {"n": 2}), port)
    assert [(i["json"]["input"], i["json"]["executionId"], i["pairedItem"]) for i in out(runner)] == [
        ({"n": 1}, None, {"item": 0}),
        ({"n": 2}, None, {"item": 1}),
    ]


def test_fire_and_forget_returns_the_input_items_tagged_with_their_child() -> None:
    port = FakePort(lambda call: SubWorkflowOutcome("queued", f"c{call.item_index}", "7"))
    runner = run_call(call_node(mode="each", options={"waitForSubWorkflow": False}), items_of({"n": 1}, {"n": 2}), port)
    assert [c.wait for c in port.calls] == [False, False]
    assert out(runner) == [
        {
            "json": {"n": 1},
            "metadata": {"subExecution": {"executionId": "c0", "workflowId": "7"}},
            "pairedItem": {"item": 0},
        },
        {
            "json": {"n": 2},
            "metadata": {"subExecution": {"executionId": "c1", "workflowId": "7"}},
            "pairedItem": {"item": 1},
        },
    ]


def test_call_parameters_are_evaluated_per_item() -> None:
    node = call_node(
        mode="each",
        workflowId={"__rl": True, "value": "={{ $json.target }}"},
        timeout=5,
        variableMapping={"region": "={{ $json.region }}"},
        outputMode="specificNode",
        outputNode="Out",
        workflowInputs={"mappingMode": "defineBelow", "value": {"id": "={{ $json.n * 10 }}"}},
    )
    port = FakePort()
    run_call(
        node,
        items_of({"n": 1, "target": "11", "region": "eu"}, {"n": 2, "target": "12", "region": "us"}),
        port,
        extra={"vars": {"shared": "yes", "region": "inherited"}},
    )
    assert [c.workflow_ref for c in port.calls] == ["11", "12"]
    assert [c.variables for c in port.calls] == [
        {"shared": "yes", "region": "eu"},
        {"shared": "yes", "region": "us"},
    ]
    assert [c.items[0]["json"] for c in port.calls] == [{"id": 10}, {"id": 20}]
    assert {(c.timeout, c.output_mode, c.output_node) for c in port.calls} == {(5.0, "specificNode", "Out")}


def test_variables_are_not_inherited_when_switched_off() -> None:
    port = FakePort()
    run_call(call_node(inheritVariables=False), items_of({}), port, extra={"vars": {"a": 1}})
    assert port.calls[0].variables == {}


def test_inline_workflow_json_is_parsed() -> None:
    port = FakePort()
    run_call(call_node(source="parameter", workflowJson='{"nodes": [], "connections": {}}'), items_of({}), port)
    assert port.calls[0].source == "parameter" and port.calls[0].workflow_json == {"nodes": [], "connections": {}}


def test_without_a_host_port_the_node_fails_clearly() -> None:
    nodes = [make_node("Start", "manualTrigger"), call_node()]
    runner = WorkflowRunner(
        nodes=nodes,
        connections=connect(("Start", "Call")),
        registry=default_registry(),
        state=start_state("Start", items_of({})),
    )
    result = runner.run()
    assert result.status == "error"
    assert result.error is not None and "no runner for child executions" in result.error["message"]


def test_parameter_error_names_the_parameter() -> None:
    node_type = default_registry().get("n8n-nodes-base.executeWorkflow")
    assert node_type is not None
    with pytest.raises(ParameterError) as info:
        node_type.validate_parameters({"workflowId": "7", "timeout": -1}, {})
    assert info.value.parameter == "timeout"


# -- expressions in a child ---------------------------------------------------------------------------
def test_parent_depth_and_stack_are_readable_in_expressions() -> None:
    info = ExecutionInfo(
        depth=2, stack=["1", "5", "9"], parent={"executionId": "40", "workflowId": "5", "mode": "integrated"}
    )
    ctx = make_ctx(execution=info)
    assert ev("={{ $depth }}", ctx) == 2
    assert ev("={{ $stack.join('>') }}", ctx) == "1>5>9"
    assert ev("={{ $parent.executionId + ':' + $parent.workflowId }}", ctx) == "40:5"
    assert ev("={{ $stack.slice(0, 1)[0] }}", ctx) == "1"
    top = make_ctx(execution=ExecutionInfo(stack=["1"]))
    assert ev("={{ $parent }}", top) is None
    assert ev("={{ $depth }}", top) == 0


# -- children that wait (the host's side is in tests/executions/test_subworkflow_waits.py) ------------
def wait_on(*values: int, deadline: float | None = None) -> Any:
    """Children for items whose ``n`` is in ``values`` wait; the others succeed."""

    def answer(call: SubWorkflowCall) -> SubWorkflowOutcome:
        n = call.items[0]["json"]["n"]
        if n in values:
            return SubWorkflowOutcome("waiting", f"c{n}", "7", deadline=deadline)
        return SubWorkflowOutcome("success", f"c{n}", "7", [{"json": {"double": n * 2}}])

    return answer


def resumed(runner: WorkflowRunner, trigger: str = "subworkflow") -> WorkflowRunner:
    runner.state.stack[-1].resume = {"trigger": trigger, "data": None}
    runner.result = runner.run()  # type: ignore[attr-defined]
    return runner


def test_waiting_children_pause_the_run_with_a_subworkflow_pause() -> None:
    port = FakePort(wait_on(2, 3, deadline=2000.0))
    runner = run_call(call_node(mode="each"), items_of({"n": 1}, {"n": 2}, {"n": 3}), port)
    assert runner.result.status == "waiting"  # type: ignore[attr-defined]
    pause = runner.state.pause
    assert pause is not None and (pause["type"], pause["node"], pause["due_at"]) == ("subworkflow", "Call", 2000.0)
    assert pause["metadata"]["awaiting"] == ["c2", "c3"]
    assert [c["status"] for c in pause["metadata"]["calls"]] == ["success", "waiting", "waiting"]
    assert runner.run_data["Call"][0].status == "waiting"


def test_a_resumed_call_builds_its_output_from_every_calls_outcome_in_item_order() -> None:
    port = FakePort(wait_on(2))
    runner = run_call(call_node(mode="each"), items_of({"n": 1}, {"n": 2}, {"n": 3}), port)
    port.later = [
        SubWorkflowOutcome("success", f"c{n}", "7", [{"json": {"double": n * 2, "late": n == 2}}]) for n in (1, 2, 3)
    ]
    resumed(runner)
    assert runner.result.status == "success"  # type: ignore[attr-defined]
    assert [i["json"]["double"] for i in out(runner)] == [2, 4, 6]
    assert [i["pairedItem"] for i in out(runner)] == [{"item": 0}, {"item": 1}, {"item": 2}]
    assert runner.run_data["Call"][0].status == "success"
    assert len(port.calls) == 3  # the children were not called again


def test_children_still_waiting_on_resume_keep_the_run_waiting() -> None:
    port = FakePort(wait_on(1, 2))
    runner = run_call(call_node(mode="each"), items_of({"n": 1}, {"n": 2}), port)
    port.later = [SubWorkflowOutcome("success", "c1", "7", [{"json": {}}]), SubWorkflowOutcome("waiting", "c2", "7")]
    resumed(runner)
    assert runner.result.status == "waiting"  # type: ignore[attr-defined]
    assert runner.state.pause is not None and runner.state.pause["metadata"]["awaiting"] == ["c2"]


def test_stop_parent_gives_up_the_waiting_children_and_reports_the_real_failure() -> None:
    port = FakePort(wait_on(1, 2))
    runner = run_call(call_node(mode="each"), items_of({"n": 1}, {"n": 2}), port)
    port.later = [
        SubWorkflowOutcome("waiting", "c1", "7"),
        SubWorkflowOutcome("error", "c2", "7", error={"message": "bad 2", "type": "StopAndError"}),
    ]
    resumed(runner)
    assert runner.result.status == "error"  # type: ignore[attr-defined]
    assert runner.run_data["Call"][0].error["message"] == "Sub-workflow execution c2 failed: bad 2"  # type: ignore[index]
    [(ids, status, error)] = port.abandoned
    assert (ids, status, error["type"]) == (["c1"], "canceled", "ExecutionCanceled")


def test_a_waiting_child_past_its_deadline_is_given_up_as_timed_out() -> None:
    port = FakePort(wait_on(1, deadline=1.0))
    runner = run_call(
        call_node(mode="each", timeout=5, onSubWorkflowError="continueWithError"), items_of({"n": 1}), port
    )
    port.later = [SubWorkflowOutcome("waiting", "c1", "7", deadline=1.0)]
    resumed(runner, trigger="timeout")
    assert runner.result.status == "success"  # type: ignore[attr-defined]
    [item] = out(runner)
    assert item["json"]["errorType"] == "SubWorkflowTimeoutError"
    assert item["json"]["error"] == "Sub-workflow execution c1 timed out after 5 s"
    assert port.abandoned == [(["c1"], "error", item_error(item))]


def item_error(item: dict[str, Any]) -> dict[str, Any]:
    return {"message": item["json"]["error"], "type": item["json"]["errorType"]}
