"""Partial execution (n8n's partial-execution cases): trigger, sub-graph, dirty nodes, cycles,
clean run data, the rebuilt stack and buffers, and end-to-end runs compared with full runs."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import Run, condition, conditions, items_of, run_workflow
from workflows.engine.graph import Graph
from workflows.engine.partial import (
    PartialError,
    PartialPlan,
    clean_run_data,
    config_changes,
    find_dirty,
    find_subgraph,
    find_trigger,
    node_config_hash,
    plan_partial,
)
from workflows.engine.registry import default_registry
from workflows.engine.runner import WorkflowRunner
from workflows.engine.state import Items, LazyRunData, NodeRunRecord, RunData, RunSummary

Nodes = list[dict[str, Any]]
Conns = dict[str, Any]


def set_node(name: str, value: str, position: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    assignment = {"name": "x", "value": value, "type": "string"}
    return make_node(
        name,
        "set",
        3.4,
        position,
        parameters={"assignments": {"assignments": [assignment]}, "includeOtherFields": True},
    )


def merge_node(name: str, position: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    return make_node(name, "merge", 3.2, position, parameters={"mode": "append"})


def if_node(name: str, passes: bool, position: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    params = conditions(condition(passes, "boolean", "true"))
    return make_node(name, "if", 2.2, position, parameters={"conditions": params})


def record(node: str, *outputs: Items, run: int = 0, status: str = "success") -> NodeRunRecord:
    return NodeRunRecord(
        node=node,
        node_type="n8n-nodes-base.noOp",
        run_index=run,
        execution_index=run,
        status=status,
        start_time=0.0,
        execution_time_ms=0.0,
        source=[None],
        output=list(outputs) if status == "success" else None,
    )


def plan(nodes: Nodes, conns: Conns, previous: RunData, **options: Any) -> PartialPlan:
    options.setdefault("pinned", set())
    options.setdefault("destination", None)
    return plan_partial(nodes=nodes, connections=conns, previous=previous, **options)


def run_plan(nodes: Nodes, conns: Conns, partial: PartialPlan, pinned: dict[str, Any] | None = None) -> Run:
    runner = WorkflowRunner(
        nodes=nodes,
        connections=conns,
        registry=default_registry(),
        state=partial.state,
        run_data=partial.run_data,
        pinned=pinned,
        max_node_runs=1000,
    )
    return Run(runner, runner.run())


def executed(run: Run, previous: Run) -> list[str]:
    """Nodes that ran in ``run`` (in order), as opposed to runs reused from ``previous``."""
    old = {id(rec) for recs in previous.runner.run_data.values() for rec in recs}
    return [rec.node for rec in run.records if id(rec) not in old]


def outputs(run: Run) -> dict[str, list[list[list[dict[str, Any]]]]]:
    return {
        name: [[[item["json"] for item in out] for out in rec.output or []] for rec in recs]
        for name, recs in run.runner.run_data.items()
    }


def pin(*items: dict[str, Any]) -> dict[str, Any]:
    return {"ids": {0: 1}, "outputs": {0: [{"json": item} for item in items]}}


# -- a chain and a diamond -----------------------------------------------------------------
def chain(count: int = 4) -> tuple[Nodes, Conns]:
    nodes = [make_node("T", "manualTrigger")] + [set_node(f"N{i}", str(i), (i * 200, 0)) for i in range(1, count)]
    return nodes, connect(*pairwise(n["name"] for n in nodes))


def diamond() -> tuple[Nodes, Conns]:
    nodes = [
        make_node("T", "manualTrigger"),
        make_node("A", position=(200, 0)),
        set_node("B", "b", (400, -100)),
        set_node("C", "c", (400, 100)),
        merge_node("M", (600, 0)),
        make_node("D", position=(800, 0)),
        make_node("After", position=(1000, 0)),
        make_node("Sibling", position=(400, 300)),
    ]
    conns = connect(
        ("T", "A"),
        ("A", "B"),
        ("A", "C"),
        ("B", "M", 0, 0),
        ("C", "M", 0, 1),
        ("M", "D"),
        ("D", "After"),
        ("A", "Sibling"),
    )
    return nodes, conns


# -- configuration hash ----------------------------------------------------------------------
def test_config_hash_follows_type_version_parameters_and_settings_only() -> None:
    node = set_node("S", "1")
    same = {**node, "position": [999, 999], "notes": "moved"}
    assert node_config_hash(node) == node_config_hash(same)
    assert node_config_hash(node) != node_config_hash(set_node("S", "2"))
    assert node_config_hash(node) != node_config_hash({**node, "typeVersion": 3.3})
    assert node_config_hash(node) != node_config_hash({**node, "retryOnFail": True})
    assert node_config_hash(node) != node_config_hash({**node, "type": "n8n-nodes-base.noOp"})


def test_config_changes_names_changed_and_new_nodes() -> None:
    before = [set_node("A", "1"), set_node("B", "1")]
    after = [set_node("A", "1"), set_node("B", "2"), set_node("C", "1")]
    assert config_changes(before, after) == {"B", "C"}


# -- trigger choice ---------------------------------------------------------------------------
def _two_triggers(webhook_second: bool = False) -> Graph:
    second = make_node("W", "webhook", 2) if webhook_second else make_node("W", "manualTrigger")
    nodes = [make_node("T", "manualTrigger"), second, make_node("X")]
    return Graph(nodes, connect(("T", "X"), ("W", "X")))


def test_trigger_with_run_data_wins() -> None:
    graph = _two_triggers(webhook_second=True)
    assert find_trigger(graph, "X", {"T": [record("T", [])]}, set()) == "T"


def test_pinned_trigger_wins_over_one_without_run_data() -> None:
    assert find_trigger(_two_triggers(webhook_second=True), "X", {}, {"T"}) == "T"


def test_webhook_trigger_first_otherwise() -> None:
    assert find_trigger(_two_triggers(webhook_second=True), "X", {}, set()) == "W"
    assert find_trigger(_two_triggers(), "X", {}, set()) == "T"


def test_destination_without_parents_is_its_own_trigger_and_disabled_triggers_are_skipped() -> None:
    graph = Graph(
        [make_node("T", "manualTrigger", disabled=True), make_node("U", "manualTrigger"), make_node("X")],
        connect(("T", "X"), ("U", "X")),
    )
    assert find_trigger(graph, "U", {}, set()) == "U"
    assert find_trigger(graph, "X", {"T": [record("T", [])]}, set()) == "U"


def test_trigger_upstream_of_the_start_node_wins() -> None:
    nodes = [make_node("T"), make_node("U"), make_node("A"), merge_node("M")]
    graph = Graph(nodes, connect(("T", "M", 0, 0), ("U", "A"), ("A", "M", 0, 1)))
    assert find_trigger(graph, "M", {"T": [record("T", [])]}, set(), start_node="A") == "U"


# -- sub-graph, dirty nodes, clean run data ----------------------------------------------------
def test_subgraph_drops_siblings_and_nodes_after_the_destination() -> None:
    nodes, conns = diamond()
    assert find_subgraph(Graph(nodes, conns), "T", "D") == {"T", "A", "B", "C", "M", "D"}
    assert find_subgraph(Graph(nodes, conns), "T", "B") == {"T", "A", "B"}


def test_dirty_nodes() -> None:
    previous = {
        "Ok": [record("Ok", [])],
        "Failed": [record("Failed", [{"json": {}}]), record("Failed", run=1, status="error")],
        "Pinned": [],
    }
    names = ["Ok", "Failed", "Pinned", "NeverRan", "Named"]
    assert find_dirty(names, previous, {"Pinned"}, {"Named"}) == {"Failed", "NeverRan", "Named"}


def test_clean_run_data_removes_dirty_nodes_and_their_descendants() -> None:
    nodes, conns = diamond()
    previous = {name: [record(name, [])] for name in ("T", "A", "B", "C", "M", "D", "After", "Sibling")}
    assert set(clean_run_data(previous, Graph(nodes, conns), {"B"})) == {"T", "A", "C", "Sibling"}


# -- rebuilt state ----------------------------------------------------------------------------
def test_dirty_middle_node_is_the_start_with_its_parents_stored_output_by_reference() -> None:
    nodes, conns = chain(5)
    full = run_workflow(nodes, conns, items_of({"a": 1}))
    partial = plan(nodes, conns, full.runner.run_data, destination="N4", dirty_nodes={"N2"})

    assert partial.start_nodes == ["N2"]
    assert partial.nodes_to_run == {"N2", "N3", "N4"}
    assert partial.reused == {"T", "N1"}
    assert partial.run_data["N1"][0] is full.record("N1")
    [task] = partial.state.stack
    assert task.inputs[0] is full.items("N1")
    assert task.source == [{"previousNode": "N1", "previousNodeOutput": 0, "previousNodeRun": 0}]
    saved = partial.state.to_dict(partial.run_data)
    assert saved["stack"][0]["inputs"] == [{"$ref": ["N1", 0, 0]}]
    assert partial.state.execution_index == full.record("N1").execution_index + 1


def test_clean_destination_is_the_only_start_node() -> None:
    nodes, conns = chain(4)
    full = run_workflow(nodes, conns, items_of({}))
    partial = plan(nodes, conns, full.runner.run_data, destination="N2")
    assert partial.dirty == set()
    assert partial.start_nodes == ["N2"]
    assert partial.reused == {"T", "N1"}


def test_merge_with_data_on_one_input_is_rebuilt_into_the_waiting_buffer() -> None:
    nodes, conns = diamond()
    full = run_workflow(nodes, conns, items_of({}))
    partial = plan(nodes, conns, full.runner.run_data, destination="D", dirty_nodes={"B"})

    assert partial.nodes_to_run == {"B", "M", "D"}
    assert partial.start_nodes == ["B", "M"]
    assert [t.node for t in partial.state.stack] == ["B"]
    [waiting] = partial.state.waiting["M"]
    assert waiting.inputs == [None, full.items("C")] and waiting.inputs[1] is full.items("C")
    assert waiting.source == [None, {"previousNode": "C", "previousNodeOutput": 0, "previousNodeRun": 0}]


def test_merge_with_data_on_both_inputs_goes_on_the_stack() -> None:
    nodes, conns = diamond()
    full = run_workflow(nodes, conns, items_of({}))
    partial = plan(nodes, conns, full.runner.run_data, destination="M", dirty_nodes={"M"})

    [task] = partial.state.stack
    assert task.node == "M" and partial.state.waiting == {}
    assert task.inputs[0] is full.items("B") and task.inputs[1] is full.items("C")
    assert [s["previousNode"] for s in task.source if s] == ["B", "C"]


def test_merge_with_one_branch_that_sent_nothing_waits_with_the_other() -> None:
    nodes = [make_node("T", "manualTrigger"), if_node("If", False), make_node("A"), merge_node("M")]
    conns = connect(("T", "If"), ("T", "A"), ("If", "M", 0, 0), ("A", "M", 0, 1))
    full = run_workflow(nodes, conns, items_of({"v": 1}))
    partial = plan(nodes, conns, full.runner.run_data, destination="M", dirty_nodes={"M"})

    assert partial.state.stack == []
    assert partial.state.waiting["M"][0].inputs == [None, full.items("A")]
    run = run_plan(nodes, conns, partial)
    assert executed(run, full) == ["M"]
    assert outputs(run) == outputs(full)


def test_node_without_parents_gets_one_empty_item() -> None:
    nodes, conns = chain(3)
    partial = plan(nodes, conns, {}, destination="N2")
    assert partial.dirty == {"T", "N1", "N2"}
    [task] = partial.state.stack
    assert task.node == "T" and task.inputs == [[{"json": {}}]]


# -- cycles -------------------------------------------------------------------------------------
def test_start_node_inside_a_loop_moves_to_the_loop_head() -> None:
    nodes = [make_node("T"), make_node("Head"), make_node("Body"), make_node("Done")]
    conns = connect(("T", "Head"), ("Head", "Body"), ("Body", "Head"), ("Body", "Done"))
    items: Items = [{"json": {}}]
    previous = {name: [record(name, items)] for name in ("T", "Head", "Body", "Done")}
    partial = plan(nodes, conns, previous, destination="Done", dirty_nodes={"Body"})

    assert partial.nodes_to_run == {"Head", "Body", "Done"}
    assert partial.start_nodes == ["Head"]
    [task] = partial.state.stack
    assert task.source == [{"previousNode": "T", "previousNodeOutput": 0, "previousNodeRun": 0}]


def test_self_loop_start_node_starts_itself_from_its_entry() -> None:
    nodes = [make_node("T"), make_node("S"), make_node("Done")]
    conns = connect(("T", "S"), ("S", "S"), ("S", "Done"))
    previous = {name: [record(name, [{"json": {}}])] for name in ("T", "S", "Done")}
    partial = plan(nodes, conns, previous, destination="Done", dirty_nodes={"S"})
    assert partial.start_nodes == ["S"]
    assert [t.source[0]["previousNode"] for t in partial.state.stack if t.source[0]] == ["T"]


def _counter_loop() -> tuple[Nodes, Conns]:
    inc = {"name": "n", "value": "={{ $json.n + 1 }}", "type": "number"}
    nodes = [
        make_node("T", "manualTrigger"),
        make_node("Inc", "set", 3.4, parameters={"assignments": {"assignments": [inc]}}),
        make_node(
            "If", "if", 2.2, parameters={"conditions": conditions(condition("={{ $json.n }}", "number", "lt", 3))}
        ),
        make_node("Done"),
    ]
    return nodes, connect(("T", "Inc"), ("Inc", "If"), ("If", "Inc", 0, 0), ("If", "Done", 1, 0))


def test_loop_rerun_from_its_head_gives_the_full_runs_outputs() -> None:
    nodes, conns = _counter_loop()
    full = run_workflow(nodes, conns, items_of({"n": 0}))
    assert full.json("Done") == [{"n": 3}]
    partial = plan(nodes, conns, full.runner.run_data, destination="Done", dirty_nodes={"If"})

    assert partial.start_nodes == ["Inc"]
    run = run_plan(nodes, conns, partial)
    assert executed(run, full) == ["Inc", "If", "Inc", "If", "Inc", "If", "Done"]
    assert partial.reused == {"T"}
    assert outputs(run) == outputs(full)


# -- end to end: which nodes run, which are reused ---------------------------------------------
def test_diamond_rerun_of_one_branch_equals_a_full_run() -> None:
    nodes, conns = diamond()
    full = run_workflow(nodes, conns, items_of({"a": 1}))
    partial = plan(nodes, conns, full.runner.run_data, destination="D", dirty_nodes={"B"})
    run = run_plan(nodes, conns, partial)

    assert executed(run, full) == ["B", "M", "D"]
    assert partial.reused == {"T", "A", "C"}
    assert not run.ran("After") and not run.ran("Sibling")
    assert {k: v for k, v in outputs(full).items() if k not in ("After", "Sibling")} == outputs(run)


def test_changed_parameters_make_a_node_dirty() -> None:
    nodes, conns = chain(4)
    full = run_workflow(nodes, conns, items_of({}))
    edited = [set_node("N2", "changed", (400, 0)) if n["name"] == "N2" else n for n in nodes]
    changed = config_changes(nodes, edited)
    assert changed == {"N2"}
    partial = plan(edited, conns, full.runner.run_data, destination="N3", changed_nodes=changed)
    run = run_plan(edited, conns, partial)

    assert executed(run, full) == ["N2", "N3"]
    assert outputs(run) == outputs(run_workflow(edited, conns, items_of({})))
    assert run.json("N3") == [{"x": "3"}] and run.json("N2") == [{"x": "changed"}]


def test_errored_node_is_dirty_and_runs_again() -> None:
    failing = make_node("N2", "stopAndError", parameters={"errorType": "errorMessage", "errorMessage": "boom"})
    nodes, conns = chain(4)
    broken = [failing if n["name"] == "N2" else n for n in nodes]
    full = run_workflow(broken, conns, items_of({}))
    assert full.result.status == "error"
    # The node is fixed without being named: its errored run alone makes it dirty.
    partial = plan(nodes, conns, full.runner.run_data, destination="N3")
    assert partial.dirty == {"N2", "N3"}
    run = run_plan(nodes, conns, partial)
    assert executed(run, full) == ["N2", "N3"]
    assert outputs(run) == outputs(run_workflow(nodes, conns, items_of({})))


def test_pinned_parent_is_a_clean_start_and_its_pin_wins_over_the_stored_run() -> None:
    nodes, conns = chain(4)
    full = run_workflow(nodes, conns, items_of({}))
    pins = {"N1": pin({"pinned": True})}
    partial = plan(nodes, conns, full.runner.run_data, destination="N3", dirty_nodes={"N2"}, pinned=pins)

    assert partial.pinned_starts == ["N1"]
    assert partial.reused == {"T"}
    run = run_plan(nodes, conns, partial, pinned=pins)
    assert executed(run, full) == ["N1", "N2", "N3"]
    assert run.record("N1").metadata["pinned"] is True
    assert run.record("N2").source == [{"previousNode": "N1", "previousNodeOutput": 0, "previousNodeRun": 0}]
    assert run.json("N2") == [{"pinned": True, "x": "2"}]


def test_pinned_node_without_run_data_is_clean() -> None:
    nodes, conns = chain(4)
    pins = {"T": pin({"p": 1})}
    partial = plan(nodes, conns, {}, destination="N1", pinned=pins)
    assert partial.dirty == {"N1"}
    run = run_plan(nodes, conns, partial, pinned=pins)
    assert run.order == ["T", "N1"] and run.json("N1") == [{"p": 1, "x": "1"}]


def test_exclusive_destination_stops_before_it() -> None:
    nodes, conns = chain(5)
    full = run_workflow(nodes, conns, items_of({}))
    partial = plan(
        nodes, conns, full.runner.run_data, destination="N4", destination_mode="exclusive", dirty_nodes={"N2"}
    )
    run = run_plan(nodes, conns, partial)
    assert executed(run, full) == ["N2", "N3"]
    assert partial.reused == {"T", "N1"}


# -- without a destination ---------------------------------------------------------------------
def test_start_node_and_all_its_descendants_run() -> None:
    nodes, conns = diamond()
    full = run_workflow(nodes, conns, items_of({}))
    partial = plan(nodes, conns, full.runner.run_data, start_node="A")
    run = run_plan(nodes, conns, partial)

    assert sorted(executed(run, full)) == sorted(["A", "B", "C", "M", "D", "After", "Sibling"])
    assert partial.reused == {"T"}
    assert outputs(run) == outputs(full)


def test_start_node_uses_input_data_when_given() -> None:
    nodes, conns = chain(4)
    full = run_workflow(nodes, conns, items_of({}))
    given = [{"json": {"mock": 1}}]
    partial = plan(nodes, conns, full.runner.run_data, start_node="N2", input_data=given)
    assert partial.state.stack[0].inputs == [given] and partial.state.stack[0].source == [None]
    run = run_plan(nodes, conns, partial)
    assert executed(run, full) == ["N2", "N3"]
    assert run.json("N3") == [{"mock": 1, "x": "3"}]


def test_missing_input_is_an_error_naming_the_node_and_input() -> None:
    nodes, conns = chain(4)
    with pytest.raises(PartialError) as caught:
        plan(nodes, conns, {"T": [record("T", [])]}, start_node="N2")
    assert caught.value.field == "start_node"
    assert "input 0 of node 'N2'" in caught.value.message and "'N1'" in caught.value.message


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({}, "start_node"),
        ({"start_node": "Nope"}, "start_node"),
        ({"destination": "Nope"}, "destination_node"),
        ({"destination": "Off"}, "destination_node"),
        ({"destination": "N1", "start_node": "N3"}, "start_node"),
        ({"destination": "N1", "dirty_nodes": {"Ghost"}}, "dirty_nodes"),
        ({"destination": "N1", "destination_mode": "sideways"}, "destination_mode"),
    ],
)
def test_bad_requests_name_the_field(options: dict[str, Any], field: str) -> None:
    nodes, conns = chain(4)
    nodes.append(make_node("Off", disabled=True))
    with pytest.raises(PartialError) as caught:
        plan(nodes, conns, {}, **options)
    assert caught.value.field == field


def test_partial_run_of_the_last_node_of_a_long_chain_touches_only_that_node() -> None:
    nodes = [make_node("T", "manualTrigger")] + [make_node(f"N{i}") for i in range(1, 500)]
    conns = connect(*pairwise(n["name"] for n in nodes))
    full = run_workflow(nodes, conns, items_of({"a": 1}))
    partial = plan(nodes, conns, full.runner.run_data, destination="N499", dirty_nodes={"N499"})

    assert partial.nodes_to_run == {"N499"} and len(partial.run_data) == 499
    assert partial.state.to_dict(partial.run_data)["stack"][0]["inputs"] == [{"$ref": ["N498", 0, 0]}]
    run = run_plan(nodes, conns, partial)
    assert executed(run, full) == ["N499"]
    assert run.json("N499") == [{"a": 1}]


# -- lazily fetched run data: the cost follows what runs ------------------------------------------
def test_lazy_run_data_plans_from_summaries_and_fetches_only_what_feeds_the_run() -> None:
    names = [f"N{i}" for i in range(50)]
    nodes = [make_node("T", "manualTrigger"), *(make_node(n, position=(i + 1, 0)) for i, n in enumerate(names))]
    conns = connect(*pairwise(["T", *names]))
    full = run_workflow(nodes, conns)
    stored = full.runner.run_data
    fetched: list[str] = []

    def fetch(name: str) -> list[NodeRunRecord]:
        fetched.append(name)
        return stored[name]

    summaries = {
        name: [RunSummary(r.run_index, r.execution_index, r.status, True) for r in runs]
        for name, runs in stored.items()
    }
    previous = LazyRunData({}, stored, fetch, summaries)
    partial = plan(nodes, conns, previous, destination="N49")
    # planning read summaries only, then the one output that feeds the node that runs
    assert fetched == ["N48"]
    assert partial.nodes_to_run == {"N49"}
    assert partial.reused == {"T", *names[:-1]}
    assert isinstance(partial.run_data, LazyRunData) and "N10" in partial.run_data
    runner = WorkflowRunner(
        nodes=nodes, connections=conns, registry=default_registry(), state=partial.state, run_data=partial.run_data
    )
    assert runner.run().status == "success"
    assert fetched == ["N48"]
    assert [r.node for r in runner.run_data.fetched()["N49"]] == ["N49"]
    # reading a reused node's runs fetches them then, once
    assert partial.run_data["N10"] == stored["N10"] and partial.run_data.get("N10") == stored["N10"]
    assert fetched == ["N48", "N10"]
    assert partial.run_data.get("nope") is None and "nope" not in partial.run_data
    # iterating means everything
    assert set(partial.run_data) == {"T", *names}
