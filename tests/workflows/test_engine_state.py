"""The execution state: stopping mid-run, serialising through JSON and continuing gives the same run."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import condition, conditions, items_of
from workflows.engine.errors import StateError
from workflows.engine.registry import default_registry
from workflows.engine.runner import RunResult, WorkflowRunner, start_state
from workflows.engine.state import ExecutionState, NodeRunRecord, RunData


def branching_merge_workflow() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """T fans out to an If branch and a longer branch; both meet in a Merge, then Final.

    The If's false output feeds a second Merge whose other input is fed directly, so one Merge
    runs with both inputs and the other runs at the end with only one (n8n v1).
    """
    nodes = [
        make_node("T", "manualTrigger"),
        make_node(
            "If",
            "if",
            2.2,
            (200, 0),
            parameters={"conditions": conditions(condition(True, "boolean", "true"))},
        ),
        make_node("Yes", position=(400, 0)),
        make_node("No", position=(400, 150)),
        make_node("Long 1", position=(200, 300)),
        make_node(
            "Long 2",
            "set",
            3.4,
            (400, 300),
            parameters={
                "mode": "manual",
                "includeOtherFields": True,
                "assignments": {"assignments": [{"name": "long", "value": "yes", "type": "string"}]},
            },
        ),
        make_node("Merge", "merge", 3.2, (600, 100), parameters={"mode": "append"}),
        make_node(
            "Half merge",
            "merge",
            3.2,
            (600, 400),
            parameters={"mode": "combine", "combineBy": "combineByPosition", "options": {"includeUnpaired": True}},
        ),
        make_node("Final", position=(800, 100)),
    ]
    conns = connect(
        ("T", "If"),
        ("T", "Long 1"),
        ("If", "Yes", 0, 0),
        ("If", "No", 1, 0),
        ("Yes", "Merge", 0, 0),
        ("Long 1", "Long 2"),
        ("Long 2", "Merge", 0, 1),
        ("No", "Half merge", 0, 0),
        ("T", "Half merge", 0, 1),
        ("Merge", "Final"),
    )
    return nodes, conns


class StopAfter:
    """Hooks that ask the runner to stop once ``limit`` node runs have finished."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def node_started(self, node: str, node_type: str, run_index: int, execution_index: int, side_effects: bool) -> None:
        return None

    def node_finished(self, record: NodeRunRecord, runner: WorkflowRunner) -> None:
        self.count += 1

    def should_stop(self) -> bool:
        return self.count >= self.limit


def new_runner(state: ExecutionState, run_data: RunData | None = None, hooks: Any = None) -> WorkflowRunner:
    nodes, conns = branching_merge_workflow()
    return WorkflowRunner(
        nodes=nodes,
        connections=conns,
        registry=default_registry(),
        state=state,
        run_data=run_data,
        hooks=hooks,
    )


def initial_state() -> ExecutionState:
    return start_state("T", items_of({"id": 1}, {"id": 2}))


def run_data_through_json(run_data: RunData) -> RunData:
    """What a host does: store each NodeRunRecord as JSON, read it back later."""
    stored = json.loads(json.dumps({node: [dataclasses.asdict(r) for r in runs] for node, runs in run_data.items()}))
    return {node: [NodeRunRecord(**r) for r in runs] for node, runs in stored.items()}


def summary(runner: WorkflowRunner) -> list[tuple[int, str, int, Any, Any]]:
    """Every node run in order with its source and output: what must not change across a restore."""
    runs = sorted((r for recs in runner.run_data.values() for r in recs), key=lambda r: r.execution_index)
    return [(r.execution_index, r.node, r.run_index, r.source, r.output) for r in runs]


def uninterrupted() -> tuple[RunResult, WorkflowRunner]:
    runner = new_runner(initial_state())
    return runner.run(), runner


def test_the_reference_run_covers_a_full_merge_and_a_merge_with_one_input() -> None:
    result, runner = uninterrupted()

    assert result.status == "success"
    order = [entry[1] for entry in summary(runner)]
    assert order == ["T", "If", "Yes", "Long 1", "Long 2", "Merge", "Final", "Half merge"]
    assert runner.run_data["Half merge"][0].source[0] is None


@pytest.mark.parametrize("stop_after", range(1, 8))
def test_stopping_after_n_nodes_then_restoring_from_json_gives_the_same_run(stop_after: int) -> None:
    _, reference = uninterrupted()

    first = new_runner(initial_state(), hooks=StopAfter(stop_after))
    assert first.run().status == "canceled"
    saved = json.loads(json.dumps(first.state_dict()))
    run_data = run_data_through_json(first.run_data)

    second = new_runner(ExecutionState.from_dict(saved, run_data), run_data)
    result = second.run()

    assert result.status == "success"
    assert result.last_node == "Half merge"
    assert summary(second) == summary(reference)
    assert second.state.execution_index == reference.state.execution_index
    assert second.state.node_runs == reference.state.node_runs


def test_stopping_after_every_node_and_restoring_each_time_gives_the_same_run() -> None:
    _, reference = uninterrupted()
    saved = json.loads(json.dumps(initial_state().to_dict({})))
    run_data: RunData = {}
    for _ in range(20):
        runner = new_runner(ExecutionState.from_dict(saved, run_data), run_data, hooks=StopAfter(1))
        result = runner.run()
        saved = json.loads(json.dumps(runner.state_dict()))
        run_data = run_data_through_json(runner.run_data)
        if result.status == "success":
            break
        assert result.status == "canceled"
    else:
        pytest.fail("the run did not finish")

    assert summary(runner) == summary(reference)


def test_task_inputs_that_are_stored_outputs_are_saved_as_references() -> None:
    runner = new_runner(initial_state(), hooks=StopAfter(3))  # T, If and Yes ran
    runner.run()
    saved = runner.state_dict()

    assert [task["node"] for task in saved["stack"]] == ["Long 1"]
    assert saved["stack"][0]["inputs"] == [{"$ref": ["T", 0, 0]}]
    # Both merges wait with one input each: the reference stands in for the items.
    assert saved["waiting"] == {
        "Half merge": [
            {
                "node": "Half merge",
                "inputs": [None, {"$ref": ["T", 0, 0]}],
                "source": [None, {"previousNode": "T", "previousNodeOutput": 0, "previousNodeRun": 0}],
            }
        ],
        "Merge": [
            {
                "node": "Merge",
                "inputs": [{"$ref": ["Yes", 0, 0]}, None],
                "source": [{"previousNode": "Yes", "previousNodeOutput": 0, "previousNodeRun": 0}, None],
            }
        ],
    }
    assert '"items"' not in json.dumps(saved)


def test_task_inputs_that_are_not_stored_outputs_are_saved_as_items() -> None:
    saved = initial_state().to_dict({})

    assert saved["stack"] == [
        {
            "node": "T",
            "inputs": [{"items": items_of({"id": 1}, {"id": 2})}],
            "source": [None],
        }
    ]


def test_an_equal_but_different_list_is_not_taken_for_a_stored_output() -> None:
    runner = new_runner(initial_state(), hooks=StopAfter(1))
    runner.run()
    task = runner.state.stack[-1]
    task.inputs[0] = copy.deepcopy(task.inputs[0])

    saved = runner.state_dict()
    assert saved["stack"][-1]["inputs"][0] == {"items": task.inputs[0]}


def test_state_round_trip_keeps_counters_destination_and_custom_data() -> None:
    state = start_state("T", items_of({"a": 1}), destination="Final", destination_mode="exclusive", node_filter=["T"])
    state.custom_data["k"] = "v"
    state.execution_index = 4
    state.node_runs = 4
    state.pause_sequence = 2

    back = ExecutionState.from_dict(json.loads(json.dumps(state.to_dict({}))), {})
    assert back == state


def _valid_saved() -> tuple[dict[str, Any], RunData]:
    runner = new_runner(initial_state(), hooks=StopAfter(3))
    runner.run()
    return json.loads(json.dumps(runner.state_dict())), run_data_through_json(runner.run_data)


def _corrupt(change: str) -> tuple[Any, RunData]:
    saved, run_data = _valid_saved()
    if change == "not a dict":
        return ["stack"], run_data
    if change == "no version":
        del saved["version"]
    elif change == "future version":
        saved["version"] = 99
    elif change == "no stack":
        del saved["stack"]
    elif change == "stack entry not an object":
        saved["stack"] = ["Long 1"]
    elif change == "ref to a node that did not run":
        saved["stack"][0]["inputs"] = [{"$ref": ["Ghost", 0, 0]}]
    elif change == "ref to a run that is not stored":
        saved["stack"][0]["inputs"] = [{"$ref": ["T", 5, 0]}]
    elif change == "ref to an output that does not exist":
        saved["stack"][0]["inputs"] = [{"$ref": ["T", 0, 3]}]
    elif change == "malformed ref":
        saved["stack"][0]["inputs"] = [{"$ref": ["T"]}]
    elif change == "items not a list":
        saved["stack"][0]["inputs"] = [{"items": {"json": {}}}]
    elif change == "input neither ref nor items":
        saved["stack"][0]["inputs"] = [{"other": 1}]
    elif change == "inputs and sources differ":
        saved["stack"][0]["source"] = [None, None]
    elif change == "waiting not an object":
        saved["waiting"] = ["Merge"]
    elif change == "execution index not a number":
        saved["execution_index"] = "three"
    else:
        raise AssertionError(change)
    return saved, run_data


@pytest.mark.parametrize(
    "change",
    [
        "not a dict",
        "no version",
        "future version",
        "no stack",
        "stack entry not an object",
        "ref to a node that did not run",
        "ref to a run that is not stored",
        "ref to an output that does not exist",
        "malformed ref",
        "items not a list",
        "input neither ref nor items",
        "inputs and sources differ",
        "waiting not an object",
        "execution index not a number",
    ],
)
def test_corrupted_state_raises_state_error(change: str) -> None:
    saved, run_data = _corrupt(change)
    with pytest.raises(StateError):
        ExecutionState.from_dict(saved, run_data)


def test_a_valid_saved_state_is_accepted() -> None:
    saved, run_data = _valid_saved()
    state = ExecutionState.from_dict(saved, run_data)

    assert [task.node for task in state.stack] == ["Long 1"]
    assert state.stack[0].inputs[0] is run_data["T"][0].output[0]  # type: ignore[index]
