"""The execution loop: order of node runs, branching, merging, node settings, errors and stopping."""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

from tests.conftest import connect, linear_workflow, make_node
from tests.workflows.engine_helpers import condition, conditions, fresh_registry, items_of, run_workflow
from workflows.engine.context import NodeContext
from workflows.engine.errors import NodeError
from workflows.engine.nodes.base import NodeType
from workflows.engine.state import Items, NodeRunRecord

TRUE = conditions(condition(True, "boolean", "true"))
FALSE = conditions(condition(False, "boolean", "true"))


def if_node(name: str, params: dict[str, Any], position: tuple[int, int] = (0, 0), **extra: Any) -> dict[str, Any]:
    return make_node(name, "if", 2.2, position, parameters={"conditions": params}, **extra)


def merge_node(name: str, position: tuple[int, int] = (0, 0), **parameters: Any) -> dict[str, Any]:
    return make_node(name, "merge", 3.2, position, parameters=parameters)


def stop_node(name: str, message: str = "boom", **extra: Any) -> dict[str, Any]:
    return make_node(name, "stopAndError", parameters={"errorType": "errorMessage", "errorMessage": message}, **extra)


# -- order and data flow -----------------------------------------------------------------
def test_linear_chain_runs_every_node_once_in_order_and_passes_items() -> None:
    wf = linear_workflow(4)
    run = run_workflow(wf["nodes"], wf["connections"], items_of({"n": 1}, {"n": 2}))

    assert run.result.status == "success"
    assert run.result.last_node == "Step 3"
    assert run.order == ["Start", "Step 1", "Step 2", "Step 3"]
    assert [rec.execution_index for rec in run.records] == [0, 1, 2, 3]
    assert all(rec.status == "success" and rec.run_index == 0 for rec in run.records)
    assert run.items("Step 3") == [
        {"json": {"n": 1}, "pairedItem": {"item": 0}},
        {"json": {"n": 2}, "pairedItem": {"item": 1}},
    ]
    assert run.record("Step 2").source == [{"previousNode": "Step 1", "previousNodeOutput": 0, "previousNodeRun": 0}]
    assert run.record("Start").source == [None]


def test_if_runs_only_the_taken_branch() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        if_node("If", TRUE),
        make_node("Yes", position=(400, 0)),
        make_node("No", position=(400, 200)),
    ]
    conns = connect(("T", "If"), ("If", "Yes", 0, 0), ("If", "No", 1, 0))
    run = run_workflow(nodes, conns, items_of({"a": 1}, {"a": 2}))

    assert run.order == ["T", "If", "Yes"]
    assert not run.ran("No")
    assert run.record("If").item_counts() == [2, 0]
    assert run.json("Yes") == [{"a": 1}, {"a": 2}]


def test_if_false_output_feeds_the_false_branch_only() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        if_node("If", FALSE),
        make_node("Yes", position=(400, 0)),
        make_node("No", position=(400, 200)),
    ]
    conns = connect(("T", "If"), ("If", "Yes", 0, 0), ("If", "No", 1, 0))
    run = run_workflow(nodes, conns, items_of({"a": 1}))

    assert run.order == ["T", "If", "No"]
    assert run.record("If").item_counts() == [0, 1]
    assert run.record("No").source == [{"previousNode": "If", "previousNodeOutput": 1, "previousNodeRun": 0}]


def test_merge_waits_for_both_inputs_and_runs_once() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        make_node("A", position=(200, 0)),
        make_node("B", position=(200, 200)),
        make_node("B2", position=(400, 200)),
        merge_node("M", (600, 100), mode="append"),
    ]
    conns = connect(("T", "A"), ("T", "B"), ("B", "B2"), ("A", "M", 0, 0), ("B2", "M", 0, 1))
    run = run_workflow(nodes, conns, items_of({"x": 1}))

    # A finishes first (top branch) but M waits until B2 delivered input 1.
    assert run.order == ["T", "A", "B", "B2", "M"]
    assert len(run.runner.run_data["M"]) == 1
    merge = run.record("M")
    assert merge.source == [
        {"previousNode": "A", "previousNodeOutput": 0, "previousNodeRun": 0},
        {"previousNode": "B2", "previousNodeOutput": 0, "previousNodeRun": 0},
    ]
    assert run.items("M") == [
        {"json": {"x": 1}, "pairedItem": {"item": 0, "input": 0}},
        {"json": {"x": 1}, "pairedItem": {"item": 0, "input": 1}},
    ]
    assert not run.runner.state.waiting


def test_merge_with_an_empty_branch_runs_once_at_the_end_with_the_other_input() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        if_node("If", TRUE, (200, 0)),
        make_node("A", position=(400, 0)),
        make_node("B", position=(400, 200)),
        merge_node("M", (600, 100), mode="append"),
        make_node("C", position=(200, 400)),
        make_node("D", position=(400, 400)),
    ]
    conns = connect(
        ("T", "If"), ("If", "A", 0, 0), ("If", "B", 1, 0), ("A", "M", 0, 0), ("B", "M", 0, 1), ("T", "C"), ("C", "D")
    )
    run = run_workflow(nodes, conns, items_of({"x": 1}))

    # n8n v1: M gets nothing on input 1, so it runs once nothing else is left (after C, D).
    assert run.order == ["T", "If", "A", "C", "D", "M"]
    assert not run.ran("B")
    merge = run.record("M")
    assert merge.source == [{"previousNode": "A", "previousNodeOutput": 0, "previousNodeRun": 0}, None]
    assert run.items("M") == [{"json": {"x": 1}, "pairedItem": {"item": 0, "input": 0}}]
    assert run.result.status == "success"


def test_diamond_runs_the_join_once_with_both_parents() -> None:
    nodes = [
        make_node("A", "manualTrigger"),
        make_node("B", position=(200, 0)),
        make_node("C", position=(200, 200)),
        merge_node("D", (400, 100), mode="append"),
    ]
    conns = connect(("A", "B"), ("A", "C"), ("B", "D", 0, 0), ("C", "D", 0, 1))
    run = run_workflow(nodes, conns, items_of({"v": 1}, {"v": 2}))

    assert run.order == ["A", "B", "C", "D"]
    assert [src["previousNode"] for src in run.record("D").source if src] == ["B", "C"]
    assert [item["pairedItem"] for item in run.items("D")] == [
        {"item": 0, "input": 0},
        {"item": 1, "input": 0},
        {"item": 0, "input": 1},
        {"item": 1, "input": 1},
    ]


def test_chained_merges_with_empty_branches_run_upstream_first_and_once_each() -> None:
    # M2 starts waiting (fed by T) before M1 does; n8n runs the waiting node with no waiting
    # ancestor first, so M1 runs, then M2 gets both inputs and runs once.
    nodes = [
        make_node("T", "manualTrigger"),
        make_node("Direct", position=(200, -200)),
        if_node("If", TRUE, (200, 0)),
        make_node("Never", position=(400, 200)),
        merge_node("M1", (600, 0), mode="append"),
        merge_node("M2", (800, 0), mode="append"),
    ]
    conns = connect(
        ("T", "Direct"),
        ("T", "If"),
        ("Direct", "M2", 0, 1),
        ("If", "M1", 0, 0),
        ("If", "Never", 1, 0),
        ("Never", "M1", 0, 1),
        ("M1", "M2", 0, 0),
    )
    run = run_workflow(nodes, conns, items_of({"x": 1}))

    assert run.order == ["T", "Direct", "If", "M1", "M2"]
    assert len(run.runner.run_data["M2"]) == 1
    assert [src["previousNode"] if src else None for src in run.record("M2").source] == ["M1", "Direct"]
    assert len(run.items("M2")) == 2


def test_v1_branch_order_is_top_to_bottom_then_left_to_right_each_branch_to_its_end() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        make_node("Low", position=(400, 300)),
        make_node("Low end", position=(600, 300)),
        make_node("High right", position=(400, -100)),
        make_node("High right end", position=(600, -100)),
        make_node("High left", position=(200, -100)),
        make_node("High left end", position=(600, -100)),
    ]
    # Connection order is the reverse of the expected run order: position decides.
    conns = connect(
        ("T", "Low"),
        ("T", "High right"),
        ("T", "High left"),
        ("Low", "Low end"),
        ("High right", "High right end"),
        ("High left", "High left end"),
    )
    run = run_workflow(nodes, conns, items_of({}))

    assert run.order == ["T", "High left", "High left end", "High right", "High right end", "Low", "Low end"]
    assert [rec.execution_index for rec in run.records] == list(range(7))


def test_disabled_node_passes_its_input_through() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        make_node(
            "Set",
            "set",
            3.4,
            disabled=True,
            parameters={"mode": "manual", "assignments": {"assignments": [{"name": "x", "value": "1"}]}},
        ),
        make_node("After"),
    ]
    run = run_workflow(nodes, connect(("T", "Set"), ("Set", "After")), items_of({"a": 1}))

    assert run.order == ["T", "Set", "After"]
    assert run.record("Set").metadata == {"disabled": True}
    assert run.json("Set") == [{"a": 1}]
    assert run.json("After") == [{"a": 1}]


def test_one_output_can_feed_several_nodes_and_several_outputs_feed_their_own() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        if_node("If", TRUE),
        make_node("Yes 1", position=(400, 0)),
        make_node("Yes 2", position=(400, 100)),
        make_node("No", position=(400, -100)),
    ]
    conns = connect(("T", "If"), ("If", "Yes 1", 0, 0), ("If", "Yes 2", 0, 0), ("If", "No", 1, 0))
    run = run_workflow(nodes, conns, items_of({"a": 1}))

    assert run.order == ["T", "If", "Yes 1", "Yes 2"]
    assert len(run.record("If").output or []) == 2
    assert run.json("Yes 2") == [{"a": 1}]


# -- node settings -----------------------------------------------------------------------
def _no_match_merge(**extra: Any) -> dict[str, Any]:
    return make_node(
        "Join",
        "merge",
        3.2,
        parameters={"mode": "combine", "combineBy": "combineByFields", "fieldsToMatchString": "id"},
        **extra,
    )


def _join_workflow(**extra: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    nodes = [
        make_node("T", "manualTrigger"),
        make_node("Left", position=(200, 0)),
        make_node("Right", position=(200, 200)),
        _no_match_merge(**extra),
        make_node("After"),
    ]
    conns = connect(("T", "Left"), ("T", "Right"), ("Left", "Join", 0, 0), ("Right", "Join", 0, 1), ("Join", "After"))
    return nodes, conns


def test_empty_output_stops_the_branch() -> None:
    nodes, conns = _join_workflow()
    run = run_workflow(nodes, conns, items_of({"other": 1}))

    assert run.record("Join").item_counts() == [0]
    assert not run.ran("After")


def test_always_output_data_turns_an_empty_output_into_one_empty_item() -> None:
    nodes, conns = _join_workflow(alwaysOutputData=True)
    run = run_workflow(nodes, conns, items_of({"other": 1}))

    assert run.items("Join") == [{"json": {}, "pairedItem": {"item": 0}}]
    assert run.order[-1] == "After"
    assert run.json("After") == [{}]


def test_execute_once_uses_only_the_first_item() -> None:
    nodes = [make_node("T", "manualTrigger"), make_node("Once", executeOnce=True), make_node("After")]
    run = run_workflow(nodes, connect(("T", "Once"), ("Once", "After")), items_of({"n": 1}, {"n": 2}, {"n": 3}))

    assert run.items("Once") == [{"json": {"n": 1}, "pairedItem": {"item": 0}}]
    assert run.json("After") == [{"n": 1}]


def test_on_error_stop_workflow_fails_the_run_and_stops() -> None:
    nodes = [make_node("T", "manualTrigger"), stop_node("Stop", "it broke"), make_node("After")]
    run = run_workflow(nodes, connect(("T", "Stop"), ("Stop", "After")), items_of({"a": 1}))

    assert run.result.status == "error"
    assert run.result.last_node == "Stop"
    assert run.result.error == {"message": "it broke", "type": "StopAndError", "node": "Stop"}
    record = run.record("Stop")
    assert record.status == "error"
    assert record.output is None
    assert record.error == run.result.error
    assert not run.ran("After")


def test_on_error_continue_regular_output_sends_error_items_on() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        stop_node("Stop", "it broke", onError="continueRegularOutput"),
        make_node("After"),
    ]
    run = run_workflow(nodes, connect(("T", "Stop"), ("Stop", "After")), items_of({"a": 1}, {"a": 2}))

    assert run.result.status == "success"
    record = run.record("Stop")
    assert record.status == "success"
    assert record.error is not None and record.error["message"] == "it broke"
    assert record.metadata["continued_on_error"] is True
    assert run.items("After") == [
        {"json": {"error": "it broke"}, "pairedItem": {"item": 0}},
        {"json": {"error": "it broke"}, "pairedItem": {"item": 1}},
    ]


def test_on_error_continue_error_output_routes_items_to_the_extra_output() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        stop_node("Stop", "it broke", onError="continueErrorOutput"),
        make_node("Ok", position=(400, 0)),
        make_node("Failed", position=(400, 200)),
    ]
    conns = connect(("T", "Stop"), ("Stop", "Ok", 0, 0), ("Stop", "Failed", 1, 0))
    run = run_workflow(nodes, conns, items_of({"a": 1}))

    assert run.result.status == "success"
    assert run.order == ["T", "Stop", "Failed"]
    assert run.record("Stop").item_counts() == [0, 1]
    assert run.items("Failed") == [{"json": {"a": 1, "error": "it broke"}, "pairedItem": {"item": 0}}]


def test_retry_on_fail_tries_max_tries_times_then_fails() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        stop_node("Stop", "nope", retryOnFail=True, maxTries=3, waitBetweenTries=0),
    ]
    started = time.perf_counter()
    run = run_workflow(nodes, connect(("T", "Stop")), items_of({}))

    assert time.perf_counter() - started < 1.0  # waitBetweenTries 0 means no wait
    assert run.result.status == "error"
    record = run.record("Stop")
    assert record.metadata["tries"] == 3
    assert [e["attempt"] for e in record.metadata["try_errors"]] == [1, 2]
    assert record.metadata["try_errors"][0]["type"] == "StopAndError"


def test_retry_max_tries_is_clamped_to_five_as_in_n8n() -> None:
    nodes = [make_node("T", "manualTrigger"), stop_node("Stop", retryOnFail=True, maxTries=50, waitBetweenTries=0)]
    run = run_workflow(nodes, connect(("T", "Stop")), items_of({}))

    assert run.record("Stop").metadata["tries"] == 5


class Flaky(NodeType):
    """Fails on its first attempt in an execution, then passes items through."""

    type = "test.flaky"
    versions = (1.0,)

    def execute(self, ctx: NodeContext) -> list[Items]:
        attempts = ctx.custom_data["flaky_attempts"] = ctx.custom_data.get("flaky_attempts", 0) + 1
        if attempts == 1:
            raise NodeError("temporary failure")
        return [list(ctx.input(0))]


class Buggy(NodeType):
    """A node type with a bug: raises a plain Python exception."""

    type = "test.buggy"
    versions = (1.0,)

    def execute(self, ctx: NodeContext) -> list[Items]:
        raise ValueError("bad value in node code")


def test_retry_succeeds_on_a_later_try() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        {**make_node("Flaky", retryOnFail=True, maxTries=3, waitBetweenTries=0), "type": "test.flaky"},
        make_node("After"),
    ]
    run = run_workflow(
        nodes, connect(("T", "Flaky"), ("Flaky", "After")), items_of({"a": 1}), registry=fresh_registry(Flaky)
    )

    assert run.result.status == "success"
    assert run.record("Flaky").metadata["tries"] == 2
    assert run.record("Flaky").metadata["try_errors"][0]["message"] == "temporary failure"
    assert run.json("After") == [{"a": 1}]


def test_a_node_bug_fails_the_node_not_the_runner() -> None:
    nodes = [make_node("T", "manualTrigger"), {**make_node("Buggy"), "type": "test.buggy"}, make_node("After")]
    run = run_workflow(nodes, connect(("T", "Buggy"), ("Buggy", "After")), items_of({}), registry=fresh_registry(Buggy))

    assert run.result.status == "error"
    assert run.result.error == {"message": "bad value in node code", "type": "ValueError", "node": "Buggy"}
    assert run.record("Buggy").status == "error"
    assert not run.ran("After")


def test_a_node_bug_with_continue_regular_output_carries_on() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        {**make_node("Buggy", onError="continueRegularOutput"), "type": "test.buggy"},
        make_node("After"),
    ]
    run = run_workflow(nodes, connect(("T", "Buggy"), ("Buggy", "After")), items_of({}), registry=fresh_registry(Buggy))

    assert run.result.status == "success"
    assert run.json("After") == [{"error": "bad value in node code"}]


def test_custom_node_types_stay_out_of_the_global_registry() -> None:
    from workflows.engine.registry import default_registry

    fresh_registry(Buggy)
    assert default_registry().get("test.buggy") is None


# -- destination, filter, loops, stopping -------------------------------------------------
def _chain(*names: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    nodes = [make_node(names[0], "manualTrigger")] + [
        make_node(name, position=(200 * i, 0)) for i, name in enumerate(names[1:], 1)
    ]
    return nodes, connect(*pairwise(names))


def test_destination_inclusive_runs_the_destination_and_nothing_after() -> None:
    nodes, conns = _chain("T", "A", "B", "C")
    nodes.append(make_node("Side", position=(200, 300)))
    conns = {**conns, "T": {"main": [[{"node": "A", "type": "main", "index": 0}, {"node": "Side", "type": "main"}]]}}
    run = run_workflow(nodes, conns, items_of({}), destination="B", destination_mode="inclusive")

    assert run.order == ["T", "A", "B"]
    assert run.result.last_node == "B"


def test_destination_exclusive_stops_before_the_destination() -> None:
    nodes, conns = _chain("T", "A", "B", "C")
    run = run_workflow(nodes, conns, items_of({}), destination="B", destination_mode="exclusive")

    assert run.order == ["T", "A"]


def test_node_filter_limits_which_children_run() -> None:
    nodes = [make_node("T", "manualTrigger"), make_node("A", position=(200, 0)), make_node("B", position=(200, 200))]
    run = run_workflow(nodes, connect(("T", "A"), ("T", "B")), items_of({}), node_filter=["T", "B"])

    assert run.order == ["T", "B"]


def _loop(**extra: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    nodes = [make_node("T", "manualTrigger"), make_node("A", **extra), make_node("B", **extra)]
    return nodes, connect(("T", "A"), ("A", "B"), ("B", "A"))


def test_endless_loop_guard_stops_a_cycle() -> None:
    nodes, conns = _loop()
    run = run_workflow(nodes, conns, items_of({}), max_node_runs=7)

    assert run.result.status == "error"
    assert run.result.error is not None and run.result.error["type"] == "EndlessLoopError"
    assert len(run.records) == 8  # 7 allowed, the 8th is refused
    assert run.records[-1].status == "error"
    assert run.order[:5] == ["T", "A", "B", "A", "B"]
    assert [rec.run_index for rec in run.runner.run_data["A"]] == [0, 1, 2, 3]


def test_endless_loop_guard_is_fatal_even_when_nodes_continue_on_error() -> None:
    nodes, conns = _loop(onError="continueRegularOutput")
    run = run_workflow(nodes, conns, items_of({}), max_node_runs=5)

    assert run.result.status == "error"
    assert run.result.error is not None and run.result.error["type"] == "EndlessLoopError"
    assert len(run.records) == 6
    assert not run.runner.state.stack


class StopAfter:
    """Hooks that ask the runner to stop once ``limit`` node runs have finished."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.finished: list[str] = []

    def node_started(self, node: str, node_type: str, run_index: int, execution_index: int, side_effects: bool) -> None:
        return None

    def node_finished(self, record: NodeRunRecord, runner: Any) -> None:
        self.finished.append(record.node)

    def should_stop(self) -> bool:
        return len(self.finished) >= self.limit


def test_should_stop_cancels_between_nodes() -> None:
    wf = linear_workflow(5)
    hooks = StopAfter(2)
    run = run_workflow(wf["nodes"], wf["connections"], items_of({}), hooks=hooks)

    assert run.result.status == "canceled"
    assert run.result.last_node == "Step 1"
    assert run.order == ["Start", "Step 1"]
    assert [task.node for task in run.runner.state.stack] == ["Step 2"]
