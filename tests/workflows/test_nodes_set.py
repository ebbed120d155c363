"""The Set ("Edit Fields") node 3.4: manual assignments with type conversion, raw JSON, kept fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import execute_node, items_of, run_workflow
from workflows.engine.errors import NodeError


def set_node(*assignments: dict[str, Any], **parameters: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"mode": "manual", **parameters}
    if assignments:
        params["assignments"] = {"assignments": list(assignments)}
    return make_node("Edit", "set", 3.4, parameters=params)


def field(name: str, value: Any, kind: str = "string") -> dict[str, Any]:
    return {"id": name, "name": name, "value": value, "type": kind}


def apply(node: dict[str, Any], *payloads: dict[str, Any]) -> list[dict[str, Any]]:
    """json of every output item."""
    return [item["json"] for item in execute_node(node, items_of(*payloads))[0]]


# -- manual assignments and types -----------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("hello", "string", "hello"),
        (5, "string", "5"),
        (2.5, "string", "2.5"),
        (3.0, "string", "3"),
        (True, "string", "true"),
        ({"a": 1}, "string", '{"a":1}'),
        ("5", "number", 5),
        ("2.5", "number", 2.5),
        (" 7 ", "number", 7),
        ("1e3", "number", 1000.0),
        (4, "number", 4),
        (True, "boolean", True),
        ("true", "boolean", True),
        ("FALSE", "boolean", False),
        ("1", "boolean", True),
        (0, "boolean", False),
        ("[1, 2]", "array", [1, 2]),
        ([3], "array", [3]),
        ('{"a": {"b": 1}}', "object", {"a": {"b": 1}}),
        ({"k": "v"}, "object", {"k": "v"}),
    ],
)
def test_assignment_converts_to_its_type(value: Any, kind: str, expected: Any) -> None:
    out = apply(set_node(field("f", value, kind)), {"other": 1})

    assert out == [{"f": expected}]
    assert type(out[0]["f"]) is type(expected)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("abc", "number"),
        ("12 apples", "number"),
        ("maybe", "boolean"),
        (2, "boolean"),
        ("{}", "array"),
        ("not json", "array"),
        ("[1]", "object"),
    ],
)
def test_assignment_that_cannot_be_converted_fails_naming_the_field(value: Any, kind: str) -> None:
    with pytest.raises(NodeError) as info:
        apply(set_node(field("count", value, kind)), {})

    assert info.value.message == f"'count' expects a {kind} but we got '{value}'"
    assert info.value.extra["parameter"] == "assignments.count"


def test_ignore_conversion_errors_keeps_the_value_as_given() -> None:
    node = set_node(
        field("count", "abc", "number"), field("n", "5", "number"), options={"ignoreConversionErrors": True}
    )

    assert apply(node, {}) == [{"count": "abc", "n": 5}]


def test_conversion_error_fails_the_node_in_a_run() -> None:
    nodes = [make_node("T", "manualTrigger"), set_node(field("count", "abc", "number"))]
    run = run_workflow(nodes, connect(("T", "Edit")), items_of({}))

    assert run.result.status == "error"
    assert run.result.error is not None
    assert run.result.error["message"] == "'count' expects a number but we got 'abc'"
    assert run.result.error["node"] == "Edit"
    assert run.result.error["parameter"] == "assignments.count"


def test_each_item_gets_its_own_output_item_with_paired_item() -> None:
    out = execute_node(set_node(field("x", "1", "number")), items_of({"a": 1}, {"a": 2}))[0]

    assert out == [
        {"json": {"x": 1}, "pairedItem": {"item": 0}},
        {"json": {"x": 1}, "pairedItem": {"item": 1}},
    ]


# -- other fields ---------------------------------------------------------------------------
def test_other_fields_are_dropped_by_default() -> None:
    assert apply(set_node(field("x", "new")), {"a": 1, "b": 2}) == [{"x": "new"}]


def test_include_other_fields_all_keeps_every_field_and_overrides_assigned_ones() -> None:
    node = set_node(field("a", "changed"), includeOtherFields=True)

    assert apply(node, {"a": 1, "b": 2}) == [{"a": "changed", "b": 2}]


def test_include_selected_keeps_only_the_listed_fields() -> None:
    node = set_node(field("x", "new"), includeOtherFields=True, include="selected", includeFields="a, c")

    assert apply(node, {"a": 1, "b": 2, "c": 3}) == [{"a": 1, "c": 3, "x": "new"}]


def test_include_except_drops_the_listed_fields() -> None:
    node = set_node(field("x", "new"), includeOtherFields=True, include="except", excludeFields="b")

    assert apply(node, {"a": 1, "b": 2, "c": 3}) == [{"a": 1, "c": 3, "x": "new"}]


def test_input_items_are_not_modified() -> None:
    items = items_of({"a": {"b": 1}})
    execute_node(set_node(field("a.c", "2"), includeOtherFields=True), items)

    assert items == items_of({"a": {"b": 1}})


# -- dot notation ---------------------------------------------------------------------------
def test_dot_notation_creates_nested_objects() -> None:
    node = set_node(field("user.name", "Ada"), field("user.address.city", "London"))

    assert apply(node, {}) == [{"user": {"name": "Ada", "address": {"city": "London"}}}]


def test_dot_notation_merges_into_an_existing_object() -> None:
    node = set_node(field("user.name", "Ada"), includeOtherFields=True)

    assert apply(node, {"user": {"id": 7}}) == [{"user": {"id": 7, "name": "Ada"}}]


def test_dot_notation_off_keeps_the_literal_key() -> None:
    node = set_node(field("a.b", "x"), options={"dotNotation": False})

    assert apply(node, {}) == [{"a.b": "x"}]


# -- raw mode -------------------------------------------------------------------------------
def test_raw_mode_outputs_the_json() -> None:
    node = make_node("Edit", "set", 3.4, parameters={"mode": "raw", "jsonOutput": '{"a": 1, "b": {"c": [1, 2]}}'})

    assert apply(node, {"old": True}) == [{"a": 1, "b": {"c": [1, 2]}}]


def test_raw_mode_with_other_fields_and_dot_notation() -> None:
    node = make_node(
        "Edit",
        "set",
        3.4,
        parameters={"mode": "raw", "jsonOutput": '{"a.b": 2}', "includeOtherFields": True},
    )

    assert apply(node, {"keep": 1}) == [{"keep": 1, "a": {"b": 2}}]


def test_raw_mode_accepts_an_object() -> None:
    node = make_node("Edit", "set", 3.4, parameters={"mode": "raw", "jsonOutput": {"k": "v"}})

    assert apply(node, {}) == [{"k": "v"}]


# -- binary ---------------------------------------------------------------------------------
BINARY = {"data": {"mimeType": "text/plain", "fileName": "a.txt", "id": "file-1"}}


def test_binary_is_kept_when_other_fields_are_included() -> None:
    items = [{"json": {"a": 1}, "binary": BINARY, "pairedItem": {"item": 0}}]
    out = execute_node(set_node(field("x", "1"), includeOtherFields=True), items)[0]

    assert out[0]["binary"] == BINARY


def test_binary_is_dropped_when_other_fields_are_not_included() -> None:
    items = [{"json": {"a": 1}, "binary": BINARY, "pairedItem": {"item": 0}}]
    out = execute_node(set_node(field("x", "1")), items)[0]

    assert "binary" not in out[0]
    assert out[0]["json"] == {"x": "1"}
