"""Filter 2–2.2: keeps matching items on its one output, options, errors and validation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import condition, conditions, items_of, run_workflow
from workflows.engine.errors import WorkflowValidationError
from workflows.engine.registry import default_registry
from workflows.engine.validation import validate_workflow


def filter_node(version: float = 2.2, **parameters: Any) -> dict[str, Any]:
    return make_node("Filter", "filter", version, parameters=parameters)


def run_filter(node: dict[str, Any], *items: dict[str, Any]) -> Any:
    nodes = [make_node("T", "manualTrigger"), node, make_node("After", position=(400, 0))]
    return run_workflow(nodes, connect(("T", "Filter"), ("Filter", "After")), items_of(*items))


def test_keeps_matching_items_and_drops_the_rest() -> None:
    keep = filter_node(conditions=conditions(condition(3, "number", "gte", 2)))
    drop = filter_node(conditions=conditions(condition(1, "number", "gte", 2)))

    kept = run_filter(keep, {"n": 1}, {"n": 2})
    dropped = run_filter(drop, {"n": 1}, {"n": 2})

    assert kept.items("Filter") == [
        {"json": {"n": 1}, "pairedItem": {"item": 0}},
        {"json": {"n": 2}, "pairedItem": {"item": 1}},
    ]
    assert kept.json("After") == [{"n": 1}, {"n": 2}]
    assert dropped.result.status == "success"
    assert dropped.record("Filter").output == [[]]
    assert not dropped.ran("After")


def test_has_exactly_one_output() -> None:
    node = filter_node(conditions=conditions(condition(1, "number", "gte", 2)))

    assert default_registry().get(node["type"]).output_count(node) == 1  # type: ignore[union-attr]
    assert len(run_filter(node, {"n": 1}).record("Filter").output or []) == 1


def test_or_combinator_keeps_an_item_when_any_condition_holds() -> None:
    node = filter_node(
        conditions=conditions(
            condition("a", "string", "equals", "b"), condition(True, "boolean", "true"), combinator="or"
        )
    )

    assert run_filter(node, {"n": 1}).json("Filter") == [{"n": 1}]


def test_ignore_case_option() -> None:
    cond = conditions(condition("Hello", "string", "startsWith", "he"))

    assert run_filter(filter_node(conditions=cond), {"n": 1}).json("Filter") == []
    assert run_filter(filter_node(conditions=cond, options={"ignoreCase": True}), {"n": 1}).json("Filter") == [{"n": 1}]


@pytest.mark.parametrize(
    ("version", "parameters"),
    [(2.0, {"options": {"looseTypeValidation": True}}), (2.2, {"looseTypeValidation": True})],
)
def test_loose_type_validation(version: float, parameters: dict[str, Any]) -> None:
    cond = conditions(condition("true", "boolean", "true"))
    strict = run_filter(filter_node(version, conditions=cond), {"n": 1})
    loose = run_filter(filter_node(version, conditions=cond, **parameters), {"n": 1})

    assert strict.result.status == "error"
    assert strict.result.error["message"] == "Wrong type: 'true' is a string but was expecting a boolean"  # type: ignore[index]
    assert strict.result.error["item_index"] == 0  # type: ignore[index]
    assert loose.json("Filter") == [{"n": 1}]


def test_empty_conditions_keep_every_item() -> None:
    node = filter_node(conditions=conditions())

    assert run_filter(node, {"n": 1}, {"n": 2}).json("Filter") == [{"n": 1}, {"n": 2}]


def test_binary_data_passes_through_with_the_item() -> None:
    node = filter_node(conditions=conditions(condition(True, "boolean", "true")))
    items = [
        {"json": {"n": 1}, "binary": {"file": {"data": "aGk=", "mimeType": "text/plain"}}, "pairedItem": {"item": 0}}
    ]
    nodes = [make_node("T", "manualTrigger"), node]
    run = run_workflow(nodes, connect(("T", "Filter")), items)

    assert run.items("Filter") == [
        {"json": {"n": 1}, "binary": {"file": {"data": "aGk=", "mimeType": "text/plain"}}, "pairedItem": {"item": 0}}
    ]


def test_continue_error_output_routes_failures_to_the_second_output() -> None:
    node = filter_node(conditions=conditions(condition("x", "number", "gt", 1)))
    node["onError"] = "continueErrorOutput"
    nodes = [make_node("T", "manualTrigger"), node, make_node("Errors", position=(400, 100))]
    run = run_workflow(nodes, connect(("T", "Filter"), ("Filter", "Errors", 1, 0)), items_of({"n": 1}))

    assert run.result.status == "success"
    assert run.json("Filter", 0) == []
    assert run.json("Errors")[0]["n"] == 1
    assert "Wrong type" in run.json("Errors")[0]["error"]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"conditions": []}, "nodes[1].parameters.conditions"),
        ({"conditions": {"conditions": [], "combinator": "xor"}}, "nodes[1].parameters.conditions.combinator"),
        (
            {"conditions": {"conditions": [{"operator": {"type": "number", "operation": "contains"}}]}},
            "nodes[1].parameters.conditions.conditions[0].operator.operation",
        ),
        ({"conditions": {"conditions": []}, "options": "ignoreCase"}, "nodes[1].parameters.options"),
    ],
)
def test_invalid_parameters_name_the_parameter(parameters: dict[str, Any], field: str) -> None:
    nodes = [make_node("T", "manualTrigger"), filter_node(**parameters)]
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(nodes, connect(("T", "Filter")), {}, default_registry())

    assert field in info.value.errors, info.value.errors


def test_a_connection_from_a_discarded_output_is_rejected() -> None:
    nodes = [make_node("T", "manualTrigger"), filter_node(conditions=conditions()), make_node("X", position=(400, 0))]
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(nodes, connect(("T", "Filter"), ("Filter", "X", 1, 0)), {}, default_registry())

    assert "connections.Filter.main" in info.value.errors


def test_n8n_export_shape_validates() -> None:
    node = filter_node(
        2.2,
        conditions={
            "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2},
            "conditions": [
                {
                    "id": "a1",
                    "leftValue": "={{ $json.age }}",
                    "rightValue": 18,
                    "operator": {"type": "number", "operation": "gte"},
                }
            ],
            "combinator": "and",
        },
        options={},
    )
    nodes, _, _ = validate_workflow([node], {}, {}, default_registry())

    assert nodes[0]["typeVersion"] == 2.2
