"""Switch 3–3.2: rules with fallback and all-matching outputs, expression mode, parameter errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import condition, conditions, items_of, run_workflow
from workflows.engine.errors import WorkflowValidationError
from workflows.engine.registry import default_registry
from workflows.engine.validation import validate_workflow


def rule(*conds: dict[str, Any], key: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"conditions": conditions(*conds)}
    if key:
        entry.update(renameOutput=True, outputKey=key)
    return entry


def switch(version: float = 3.2, **parameters: Any) -> dict[str, Any]:
    return make_node("Switch", "switch", version, parameters=parameters)


def rules(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"values": list(entries)}


def literal_kind_rule(left: Any, right: Any, kind: str = "string", op: str = "equals") -> dict[str, Any]:
    # Expressions are evaluated elsewhere; literal left values keep these tests engine-only.
    return rule(condition(left, kind, op, right))


def run_switch(node: dict[str, Any], *payloads: dict[str, Any], targets: int = 0) -> Any:
    names = [f"Out {i}" for i in range(targets)]
    nodes = [make_node("T", "manualTrigger"), node] + [
        make_node(n, position=(400, 100 * i)) for i, n in enumerate(names)
    ]
    conns = connect(("T", "Switch"), *[("Switch", n, i, 0) for i, n in enumerate(names)])
    return run_workflow(nodes, conns, items_of(*payloads))


# -- rules ---------------------------------------------------------------------------------
def test_each_item_goes_to_the_first_matching_rule_only() -> None:
    node = switch(
        rules=rules(
            literal_kind_rule(5, 3, "number", "gt"),  # matches
            literal_kind_rule(5, 1, "number", "gt"),  # matches too, but the first match wins
            literal_kind_rule(5, 9, "number", "gt"),
        )
    )
    run = run_switch(node, {"n": 1}, {"n": 2}, targets=3)

    assert run.result.status == "success"
    assert run.items("Switch", 0) == [
        {"json": {"n": 1}, "pairedItem": {"item": 0}},
        {"json": {"n": 2}, "pairedItem": {"item": 1}},
    ]
    assert run.items("Switch", 1) == []
    assert run.items("Switch", 2) == []
    assert run.ran("Out 0") and not run.ran("Out 1") and not run.ran("Out 2")


def test_all_matching_outputs_sends_the_item_to_every_matching_rule() -> None:
    node = switch(
        rules=rules(
            literal_kind_rule(5, 3, "number", "gt"),
            literal_kind_rule(5, 9, "number", "gt"),
            literal_kind_rule(5, 1, "number", "gt"),
        ),
        options={"allMatchingOutputs": True},
    )
    run = run_switch(node, {"n": 1}, targets=3)

    assert run.json("Switch", 0) == [{"n": 1}]
    assert run.json("Switch", 1) == []
    assert run.json("Switch", 2) == [{"n": 1}]
    assert run.order == ["T", "Switch", "Out 0", "Out 2"]


def test_unmatched_items_are_dropped_without_fallback() -> None:
    node = switch(rules=rules(literal_kind_rule("a", "b")))
    run = run_switch(node, {"n": 1}, targets=1)

    assert run.result.status == "success"
    assert run.record("Switch").output == [[]]
    assert not run.ran("Out 0")


def test_fallback_extra_adds_an_output_after_the_rules() -> None:
    node = switch(
        rules=rules(literal_kind_rule("a", "a"), literal_kind_rule("a", "b")), options={"fallbackOutput": "extra"}
    )
    nodes = [make_node("T", "manualTrigger"), node, make_node("Fallback", position=(400, 0))]
    conns = connect(("T", "Switch"), ("Switch", "Fallback", 2, 0))
    assert default_registry().get("n8n-nodes-base.switch").output_count(node) == 3  # type: ignore[union-attr]

    validate_workflow(nodes, conns, {}, default_registry())  # output 2 exists
    run = run_workflow(nodes, conns, items_of({"n": 1}))
    assert [len(out) for out in run.record("Switch").output or []] == [1, 0, 0]
    assert not run.ran("Fallback")


def test_fallback_extra_receives_unmatched_items() -> None:
    node = switch(rules=rules(literal_kind_rule("a", "b")), options={"fallbackOutput": "extra"})
    run = run_switch(node, {"n": 1}, {"n": 2}, targets=2)

    assert run.json("Switch", 0) == []
    assert run.json("Switch", 1) == [{"n": 1}, {"n": 2}]
    assert run.json("Out 1") == [{"n": 1}, {"n": 2}]


def test_fallback_to_a_rule_output_index() -> None:
    node = switch(rules=rules(literal_kind_rule("a", "b"), literal_kind_rule("a", "c")), options={"fallbackOutput": 1})
    run = run_switch(node, {"n": 1}, targets=2)

    assert run.json("Switch", 0) == []
    assert run.json("Switch", 1) == [{"n": 1}]


def test_ignore_case_option_applies_to_string_rules() -> None:
    strict = switch(rules=rules(literal_kind_rule("ABC", "abc")))
    loose = switch(rules=rules(literal_kind_rule("ABC", "abc")), options={"ignoreCase": True})

    assert run_switch(strict, {"n": 1}, targets=1).json("Switch", 0) == []
    assert run_switch(loose, {"n": 1}, targets=1).json("Switch", 0) == [{"n": 1}]


@pytest.mark.parametrize(
    ("version", "parameters"),
    [(3.0, {"options": {"looseTypeValidation": True}}), (3.2, {"looseTypeValidation": True})],
)
def test_loose_type_validation_converts_values(version: float, parameters: dict[str, Any]) -> None:
    rule_ = literal_kind_rule("10", 5, "number", "gt")
    strict = run_switch(switch(version, rules=rules(rule_)), {"n": 1}, targets=1)
    loose = run_switch(switch(version, rules=rules(rule_), **parameters), {"n": 1}, targets=1)

    assert strict.result.status == "error"
    assert "Wrong type" in strict.result.error["message"]  # type: ignore[index]
    assert loose.json("Switch", 0) == [{"n": 1}]


def test_no_rules_outputs_nothing() -> None:
    run = run_switch(switch(rules=rules()), {"n": 1})

    assert run.result.status == "success"
    assert run.record("Switch").output == [[]]


def test_on_error_continue_error_output_uses_the_output_after_the_rules() -> None:
    node = switch(rules=rules(literal_kind_rule("x", 5, "number", "gt")))
    node["onError"] = "continueErrorOutput"
    run = run_switch(node, {"n": 1}, targets=2)

    assert run.result.status == "success"
    assert run.json("Switch", 0) == []
    assert run.json("Switch", 1) == [{"n": 1, "error": run.json("Switch", 1)[0]["error"]}]
    assert "Wrong type" in run.json("Switch", 1)[0]["error"]


# -- expression mode ----------------------------------------------------------------------
def test_expression_mode_routes_to_the_output_index() -> None:
    node = switch(mode="expression", numberOutputs=3, output=2)
    run = run_switch(node, {"n": 1}, {"n": 2}, targets=3)

    assert default_registry().get(node["type"]).output_count(node) == 3  # type: ignore[union-attr]
    assert [len(out) for out in run.record("Switch").output or []] == [0, 0, 2]
    assert run.json("Out 2") == [{"n": 1}, {"n": 2}]


def test_expression_mode_accepts_a_numeric_string() -> None:
    run = run_switch(switch(mode="expression", numberOutputs=2, output="1"), {"n": 1}, targets=2)

    assert run.json("Switch", 1) == [{"n": 1}]


@pytest.mark.parametrize("output", [5, -1])
def test_expression_mode_rejects_an_index_out_of_range(output: int) -> None:
    nodes = [make_node("T", "manualTrigger"), switch(mode="expression", output=output)]
    run = run_workflow(nodes, connect(("T", "Switch")), items_of({"n": 1}))

    assert run.result.status == "error"
    assert run.result.error["message"] == f"The output {output} is not allowed"  # type: ignore[index]
    assert run.result.error["description"] == "It has to be between 0 and 3"  # type: ignore[index]
    assert run.result.error["item_index"] == 0  # type: ignore[index]


def test_expression_mode_index_equal_to_the_output_count_explains_zero_based_indexes() -> None:
    nodes = [make_node("T", "manualTrigger"), switch(mode="expression", numberOutputs=2, output=2)]
    run = run_workflow(nodes, connect(("T", "Switch")), items_of({"n": 1}))

    assert run.result.error["message"] == "The output 2 is not allowed"  # type: ignore[index]
    assert "zero based" in run.result.error["description"]  # type: ignore[index]


def test_expression_mode_defaults_to_four_outputs() -> None:
    node = switch(mode="expression", output=3)

    assert default_registry().get(node["type"]).output_count(node) == 4  # type: ignore[union-attr]
    assert run_switch(node, {"n": 1}, targets=4).json("Out 3") == [{"n": 1}]


# -- validation ---------------------------------------------------------------------------
def validation_errors(node: dict[str, Any], conns: dict[str, Any] | None = None) -> dict[str, list[str]]:
    nodes = [make_node("T", "manualTrigger"), node]
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(nodes, conns or connect(("T", "Switch")), {}, default_registry())
    return info.value.errors


def test_connection_to_a_missing_output_is_rejected() -> None:
    node = switch(rules=rules(literal_kind_rule("a", "a")))
    nodes = [make_node("T", "manualTrigger"), node, make_node("X", position=(400, 0))]
    conns = connect(("T", "Switch"), ("Switch", "X", 1, 0))

    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(nodes, conns, {}, default_registry())
    assert "connections.Switch.main" in info.value.errors


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"mode": "lanes"}, "nodes[1].parameters.mode"),
        ({"rules": {"values": "nope"}}, "nodes[1].parameters.rules.values"),
        (
            {"rules": {"values": [{"conditions": {"conditions": [{"operator": {"type": "text"}}]}}]}},
            "nodes[1].parameters.rules.values[0].conditions.conditions[0].operator.type",
        ),
        (
            {"rules": {"values": [{"conditions": {}, "renameOutput": "yes"}]}},
            "nodes[1].parameters.rules.values[0].renameOutput",
        ),
        ({"rules": {"values": []}, "options": {"fallbackOutput": 3}}, "nodes[1].parameters.options.fallbackOutput"),
        (
            {"rules": {"values": []}, "options": {"fallbackOutput": "last"}},
            "nodes[1].parameters.options.fallbackOutput",
        ),
        ({"mode": "expression", "numberOutputs": 0}, "nodes[1].parameters.numberOutputs"),
        ({"mode": "expression", "numberOutputs": "={{ 3 }}"}, "nodes[1].parameters.numberOutputs"),
        ({"mode": "expression", "output": "second"}, "nodes[1].parameters.output"),
    ],
)
def test_invalid_parameters_name_the_parameter(parameters: dict[str, Any], field: str) -> None:
    errors = validation_errors(make_node("Switch", "switch", 3.2, parameters=parameters))

    assert field in errors, errors
    assert "node 'Switch'" in errors[field][0]


def test_unsupported_version_is_rejected() -> None:
    errors = validation_errors(make_node("Switch", "switch", 2, parameters={}))

    assert "nodes[1].typeVersion" in errors


def test_n8n_export_shape_validates() -> None:
    node = switch(
        3.2,
        rules={
            "values": [
                {
                    "conditions": {
                        "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2},
                        "conditions": [
                            {
                                "leftValue": "={{ $json.kind }}",
                                "rightValue": "a",
                                "operator": {"type": "string", "operation": "equals"},
                                "id": "3f9c",
                            }
                        ],
                        "combinator": "and",
                    },
                    "renameOutput": True,
                    "outputKey": "A",
                }
            ]
        },
        looseTypeValidation=False,
        options={"fallbackOutput": "extra", "renameFallbackOutput": "Other"},
    )
    nodes, _, _ = validate_workflow(
        [make_node("T", "manualTrigger"), node], connect(("T", "Switch")), {}, default_registry()
    )

    assert nodes[1]["parameters"]["rules"]["values"][0]["outputKey"] == "A"
    assert default_registry().get(node["type"]).output_count(node) == 2  # type: ignore[union-attr]
