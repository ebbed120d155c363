"""Workflow validation: malformed definitions fail with errors keyed by field and naming the node."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connect, make_node
from workflows.engine.errors import WorkflowValidationError
from workflows.engine.registry import default_registry
from workflows.engine.validation import validate_workflow


def trigger() -> dict[str, Any]:
    return make_node("Start", "manualTrigger")


def set_node(name: str = "Edit", **parameters: Any) -> dict[str, Any]:
    return make_node(name, "set", 3.4, parameters=parameters)


def if_node(name: str = "If", **parameters: Any) -> dict[str, Any]:
    return make_node(name, "if", 2.2, parameters=parameters)


def merge_node(name: str = "Merge", **parameters: Any) -> dict[str, Any]:
    return make_node(name, "merge", 3.2, parameters=parameters)


def stop_node(name: str = "Stop", **parameters: Any) -> dict[str, Any]:
    return make_node(name, "stopAndError", parameters=parameters)


def errors_of(nodes: Any, connections: Any = None, settings: Any = None) -> dict[str, list[str]]:
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(nodes, connections, settings, default_registry())
    return info.value.errors


def bad_operator(**operator: Any) -> dict[str, Any]:
    return {"conditions": {"conditions": [{"leftValue": 1, "rightValue": 2, "operator": operator}]}}


# (case id, nodes, connections, settings, expected error key, text the message must contain)
CASES: list[tuple[str, Any, Any, Any, str, str]] = [
    ("nodes not a list", {"Start": trigger()}, None, None, "nodes", "list"),
    ("node not an object", [trigger(), "Edit"], None, None, "nodes[1]", "object"),
    ("missing name", [trigger(), {"type": "n8n-nodes-base.noOp", "typeVersion": 1}], None, None, "nodes[1].name", "#1"),
    ("blank name", [trigger(), make_node("  ")], None, None, "nodes[1].name", "non-empty"),
    ("duplicate name", [trigger(), make_node("Start")], None, None, "nodes[1].name", "'Start'"),
    ("missing type", [trigger(), {"name": "X", "typeVersion": 1}], None, None, "nodes[1].type", "'X'"),
    (
        "unknown type",
        [trigger(), make_node("Mystery", "doesNotExist")],
        None,
        None,
        "nodes[1].type",
        "'Mystery'",
    ),
    (
        "non-numeric typeVersion",
        [trigger(), make_node("Edit", "set", "3.4")],  # type: ignore[arg-type]
        None,
        None,
        "nodes[1].typeVersion",
        "'Edit'",
    ),
    (
        "parameters not an object",
        [trigger(), {**make_node("Edit", "set", 3.4), "parameters": ["mode"]}],
        None,
        None,
        "nodes[1].parameters",
        "'Edit'",
    ),
    ("bad position", [trigger(), {**make_node("P"), "position": [1]}], None, None, "nodes[1].position", "'P'"),
    (
        "position not numbers",
        [trigger(), {**make_node("P"), "position": ["a", "b"]}],
        None,
        None,
        "nodes[1].position",
        "[x, y]",
    ),
    ("bad onError", [trigger(), make_node("N", onError="ignore")], None, None, "nodes[1].onError", "'N'"),
    ("maxTries zero", [trigger(), make_node("N", maxTries=0)], None, None, "nodes[1].maxTries", "'N'"),
    ("maxTries not int", [trigger(), make_node("N", maxTries="3")], None, None, "nodes[1].maxTries", "integer"),
    ("disabled not bool", [trigger(), make_node("N", disabled="yes")], None, None, "nodes[1].disabled", "'N'"),
    (
        "set bad mode",
        [trigger(), set_node(mode="fancy")],
        None,
        None,
        "nodes[1].parameters.mode",
        "'Edit'",
    ),
    (
        "set assignments not a list",
        [trigger(), set_node(assignments={"assignments": {"name": "x"}})],
        None,
        None,
        "nodes[1].parameters.assignments.assignments",
        "list",
    ),
    (
        "set assignment without name",
        [trigger(), set_node(assignments={"assignments": [{"value": 1, "type": "number"}]})],
        None,
        None,
        "nodes[1].parameters.assignments.assignments[0].name",
        "'Edit'",
    ),
    (
        "set bad type",
        [trigger(), set_node(assignments={"assignments": [{"name": "x", "value": 1, "type": "float"}]})],
        None,
        None,
        "nodes[1].parameters.assignments.assignments[0].type",
        "string, number",
    ),
    (
        "set raw invalid json",
        [trigger(), set_node(mode="raw", jsonOutput="{oops")],
        None,
        None,
        "nodes[1].parameters.jsonOutput",
        "JSON",
    ),
    (
        "if bad operator type",
        [trigger(), if_node(**bad_operator(type="color", operation="equals"))],
        None,
        None,
        "nodes[1].parameters.conditions.conditions[0].operator.type",
        "'If'",
    ),
    (
        "if bad operation",
        [trigger(), if_node(**bad_operator(type="number", operation="contains"))],
        None,
        None,
        "nodes[1].parameters.conditions.conditions[0].operator.operation",
        "'contains'",
    ),
    (
        "if bad combinator",
        [trigger(), if_node(conditions={"conditions": [], "combinator": "xor"})],
        None,
        None,
        "nodes[1].parameters.conditions.combinator",
        "'If'",
    ),
    ("merge bad mode", [trigger(), merge_node(mode="zip")], None, None, "nodes[1].parameters.mode", "'Merge'"),
    (
        "merge numberInputs too small",
        [trigger(), merge_node(numberInputs=1)],
        None,
        None,
        "nodes[1].parameters.numberInputs",
        "2 to 10",
    ),
    (
        "merge useDataOfInput out of range",
        [trigger(), merge_node(mode="chooseBranch", useDataOfInput=3)],
        None,
        None,
        "nodes[1].parameters.useDataOfInput",
        "1 to 2",
    ),
    (
        "merge combine by fields without fields",
        [trigger(), merge_node(mode="combine", combineBy="combineByFields")],
        None,
        None,
        "nodes[1].parameters.fieldsToMatchString",
        "'Merge'",
    ),
    (
        "stopAndError bad errorType",
        [trigger(), stop_node(errorType="panic")],
        None,
        None,
        "nodes[1].parameters.errorType",
        "'Stop'",
    ),
    (
        "stopAndError invalid errorObject",
        [trigger(), stop_node(errorType="errorObject", errorObject="{not json")],
        None,
        None,
        "nodes[1].parameters.errorObject",
        "JSON",
    ),
    ("connections not an object", [trigger()], [["Start"]], None, "connections", "object"),
    (
        "connection from an unknown node",
        [trigger(), make_node("A")],
        connect(("Ghost", "A")),
        None,
        "connections.Ghost",
        "'Ghost'",
    ),
    (
        "connection to an unknown node",
        [trigger(), make_node("A")],
        connect(("A", "Ghost")),
        None,
        "connections.A.main[0][0].node",
        "'Ghost'",
    ),
    (
        "input index out of range",
        [trigger(), make_node("A")],
        connect(("Start", "A", 0, 1)),
        None,
        "connections.Start.main[0][0].index",
        "'A'",
    ),
    (
        "merge input index beyond numberInputs",
        [trigger(), merge_node(numberInputs=3)],
        connect(("Start", "Merge", 0, 3)),
        None,
        "connections.Start.main[0][0].index",
        "0..2",
    ),
    (
        "output index beyond the node's outputs",
        [trigger(), if_node(), make_node("A")],
        connect(("If", "A", 2, 0)),
        None,
        "connections.If.main",
        "2 output(s)",
    ),
    (
        "main not a list",
        [trigger(), if_node()],
        {"If": {"main": {"0": []}}},
        None,
        "connections.If.main",
        "'If'",
    ),
    (
        "connection type other than main",
        [trigger(), make_node("A")],
        {"Start": {"ai_tool": [[{"node": "A", "type": "ai_tool", "index": 0}]]}},
        None,
        "connections.Start.ai_tool",
        "main",
    ),
    (
        "connection into a manual trigger",
        [trigger(), make_node("A")],
        connect(("Start", "A"), ("A", "Start")),
        None,
        "connections.A.main[0][0].node",
        "trigger 'Start'",
    ),
    ("settings not an object", [trigger()], None, ["v1"], "settings", "object"),
    ("bad executionOrder", [trigger()], None, {"executionOrder": "v2"}, "settings.executionOrder", "v0"),
    (
        "setting of the wrong type",
        [trigger()],
        None,
        {"saveManualExecutions": "yes"},
        "settings.saveManualExecutions",
        "wrong type",
    ),
]


@pytest.mark.parametrize(
    ("nodes", "connections", "settings", "key", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_workflow_is_rejected_naming_the_field(
    nodes: Any, connections: Any, settings: Any, key: str, text: str
) -> None:
    errors = errors_of(nodes, connections, settings)

    assert key in errors, errors
    assert any(text in message for message in errors[key]), errors[key]


def test_unsupported_type_version_lists_supported_versions_and_every_unsupported_type() -> None:
    nodes = [
        trigger(),
        make_node("Old if", "if", 1),
        make_node("Old merge", "merge", 2),
        make_node("Mystery", "doesNotExist"),
    ]
    errors = errors_of(nodes)

    old_if = next(v for k, v in errors.items() if k.startswith("nodes[1]."))
    assert "'Old if'" in old_if[0]
    assert "supported versions: 2, 2.1, 2.2" in old_if[0]
    assert any(
        "supported versions: 3, 3.1, 3.2" in m for k, v in errors.items() if k.startswith("nodes[2].") for m in v
    )
    assert errors["nodes"] == [
        "unsupported node types: n8n-nodes-base.doesNotExist@1, n8n-nodes-base.if@1, n8n-nodes-base.merge@2"
    ]


def test_every_error_is_reported_at_once() -> None:
    nodes = [trigger(), make_node("A", onError="nope"), set_node(mode="fancy")]
    errors = errors_of(nodes, None, {"executionOrder": "v9"})

    assert set(errors) == {"nodes[1].onError", "nodes[2].parameters.mode", "settings.executionOrder"}


def test_the_exception_message_names_field_and_node() -> None:
    with pytest.raises(WorkflowValidationError, match=r"nodes\[1\]\.onError: node 'A'"):
        validate_workflow([trigger(), make_node("A", onError="nope")], None, None, default_registry())


def test_a_valid_workflow_is_normalised() -> None:
    nodes = [
        trigger(),
        {**if_node(), "parameters": None},
        make_node("A", position=(200, 0)),
        merge_node(mode="append"),
    ]
    conns = {
        "Start": {"main": [[{"node": "If", "type": "main", "index": 0}]]},
        "If": {"main": [[{"node": "A"}], None]},
        "A": {"main": [[{"node": "Merge", "index": 1}]]},
    }
    clean_nodes, clean_conns, clean_settings = validate_workflow(
        nodes, conns, {"executionOrder": "v1"}, default_registry()
    )

    assert [n["name"] for n in clean_nodes] == ["Start", "If", "A", "Merge"]
    assert clean_nodes[1]["parameters"] == {}
    assert clean_conns["If"] == {"main": [[{"node": "A", "type": "main", "index": 0}], []]}
    assert clean_conns["A"] == {"main": [[{"node": "Merge", "type": "main", "index": 1}]]}
    assert clean_settings == {"executionOrder": "v1"}


def test_an_error_output_counts_as_an_extra_output() -> None:
    nodes = [trigger(), make_node("N", onError="continueErrorOutput"), make_node("A"), make_node("B")]
    _, clean_conns, _ = validate_workflow(nodes, connect(("N", "A", 0, 0), ("N", "B", 1, 0)), None, default_registry())

    assert len(clean_conns["N"]["main"]) == 2
