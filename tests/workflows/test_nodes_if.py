"""The If node 2–2.2: every operator type, case sensitivity, combinators and type validation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import condition, conditions, execute_node, items_of, run_workflow
from workflows.engine.errors import NodeError


def if_node(*conds: dict[str, Any], version: float = 2.2, combinator: str = "and", **extra: Any) -> dict[str, Any]:
    filter_options = extra.pop("filter_options", {})
    params = {"conditions": conditions(*conds, combinator=combinator, **filter_options), **extra}
    return make_node("If", "if", version, parameters=params)


def passes(node: dict[str, Any]) -> bool:
    true_items, false_items = execute_node(node, items_of({"n": 1}))
    assert len(true_items) + len(false_items) == 1
    return bool(true_items)


CASES: list[tuple[str, Any, str, str, Any, bool]] = [
    # (id, left, type, operation, right, expected)
    ("string equals", "abc", "string", "equals", "abc", True),
    ("string equals other", "abc", "string", "equals", "abd", False),
    ("string equals is case sensitive", "ABC", "string", "equals", "abc", False),
    ("string notEquals", "abc", "string", "notEquals", "abd", True),
    ("string contains", "hello world", "string", "contains", "lo w", True),
    ("string contains missing", "hello", "string", "contains", "xyz", False),
    ("string notContains", "hello", "string", "notContains", "xyz", True),
    ("string startsWith", "hello", "string", "startsWith", "he", True),
    ("string startsWith not", "hello", "string", "startsWith", "lo", False),
    ("string notStartsWith", "hello", "string", "notStartsWith", "lo", True),
    ("string endsWith", "hello", "string", "endsWith", "lo", True),
    ("string notEndsWith", "hello", "string", "notEndsWith", "he", True),
    ("string regex", "order-123", "string", "regex", r"\d{3}$", True),
    ("string regex no match", "order-abc", "string", "regex", r"\d+", False),
    ("string regex slash form with flag", "xxABCxx", "string", "regex", "/abc/i", True),
    ("string regex slash form without flag", "xxABCxx", "string", "regex", "/abc/", False),
    ("string notRegex", "abc", "string", "notRegex", r"\d", True),
    ("string empty", "", "string", "empty", None, True),
    ("string notEmpty", "x", "string", "notEmpty", None, True),
    ("string exists", "x", "string", "exists", None, True),
    ("string missing does not exist", None, "string", "exists", None, False),
    ("string notExists", None, "string", "notExists", None, True),
    ("number gt", 5, "number", "gt", 3, True),
    ("number gt equal", 3, "number", "gt", 3, False),
    ("number lt", 2, "number", "lt", 3, True),
    ("number gte", 3, "number", "gte", 3, True),
    ("number lte", 4, "number", "lte", 3, False),
    ("number equals int and float", 3, "number", "equals", 3.0, True),
    ("number notEquals", 3, "number", "notEquals", 4, True),
    ("number empty", None, "number", "empty", None, True),
    ("boolean true", True, "boolean", "true", None, True),
    ("boolean true on false", False, "boolean", "true", None, False),
    ("boolean false", False, "boolean", "false", None, True),
    ("boolean equals", True, "boolean", "equals", True, True),
    ("boolean notEquals", True, "boolean", "notEquals", False, True),
    ("array contains", [1, 2, 3], "array", "contains", 2, True),
    ("array contains string", ["a", "b"], "array", "contains", "c", False),
    ("array notContains", [1, 2], "array", "notContains", 3, True),
    ("array lengthGt", [1, 2], "array", "lengthGt", 1, True),
    ("array lengthGt equal", [1, 2], "array", "lengthGt", 2, False),
    ("array lengthLt", [1], "array", "lengthLt", 2, True),
    ("array lengthEquals", [1, 2], "array", "lengthEquals", 2, True),
    ("array lengthGte", [1, 2], "array", "lengthGte", 2, True),
    ("array lengthLte", [1, 2, 3], "array", "lengthLte", 2, False),
    ("array empty", [], "array", "empty", None, True),
    ("array notEmpty", [0], "array", "notEmpty", None, True),
    ("object empty", {}, "object", "empty", None, True),
    ("object empty on filled", {"a": 1}, "object", "empty", None, False),
    ("object notEmpty", {"a": 1}, "object", "notEmpty", None, True),
    ("object exists", {}, "object", "exists", None, True),
    ("object notExists", None, "object", "notExists", None, True),
    ("dateTime after", "2024-02-01T00:00:00Z", "dateTime", "after", "2024-01-01", True),
    ("dateTime before", "2024-02-01", "dateTime", "before", "2024-01-01", False),
    ("dateTime equals", "2024-01-01T10:00:00+00:00", "dateTime", "equals", "2024-01-01T10:00:00Z", True),
    ("any equals", "x", "any", "equals", "x", True),
]


@pytest.mark.parametrize(
    ("left", "kind", "operation", "right", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_operator(left: Any, kind: str, operation: str, right: Any, expected: bool) -> None:
    assert passes(if_node(condition(left, kind, operation, right))) is expected


def test_case_insensitive_filter_option() -> None:
    cond = condition("HeLLo World", "string", "equals", "hello world")

    assert passes(if_node(cond, filter_options={"caseSensitive": False})) is True
    assert passes(if_node(cond)) is False


def test_ignore_case_node_option() -> None:
    cond = condition("HeLLo", "string", "startsWith", "hel")

    assert passes(if_node(cond, options={"ignoreCase": True})) is True


def test_case_insensitive_applies_to_contains_and_regex() -> None:
    opts = {"caseSensitive": False}

    assert passes(if_node(condition("ABCDEF", "string", "contains", "cd"), filter_options=opts)) is True
    assert passes(if_node(condition("ABCDEF", "string", "regex", "^abc"), filter_options=opts)) is True


@pytest.mark.parametrize(
    ("combinator", "second", "expected"),
    [("and", True, True), ("and", False, False), ("or", False, True)],
)
def test_combinator(combinator: str, second: bool, expected: bool) -> None:
    node = if_node(
        condition(5, "number", "gt", 1),
        condition(second, "boolean", "true"),
        combinator=combinator,
    )

    assert passes(node) is expected


def test_or_with_every_condition_false_is_false() -> None:
    node = if_node(condition(1, "number", "gt", 5), condition("a", "string", "equals", "b"), combinator="or")

    assert passes(node) is False


def test_no_conditions_pass() -> None:
    assert passes(if_node()) is True


# -- type validation --------------------------------------------------------------------------
def test_strict_type_validation_rejects_a_string_where_a_number_is_expected() -> None:
    with pytest.raises(NodeError) as info:
        passes(if_node(condition("5", "number", "gt", 3)))

    assert info.value.message == "Wrong type: '5' is a string but was expecting a number"
    assert info.value.extra["parameter"] == "conditions.conditions[0].leftValue"
    assert info.value.description is not None and "loose type validation" in info.value.description
    assert info.value.item_index == 0


def test_strict_type_validation_checks_the_right_value_too() -> None:
    with pytest.raises(NodeError) as info:
        passes(if_node(condition(5, "number", "gt", "3")))

    assert info.value.extra["parameter"] == "conditions.conditions[0].rightValue"


def test_strict_type_validation_rejects_a_string_where_a_boolean_is_expected() -> None:
    with pytest.raises(NodeError, match="was expecting a boolean"):
        passes(if_node(condition("true", "boolean", "true")))


@pytest.mark.parametrize(
    ("version", "how"),
    [
        (2.2, {"filter_options": {"typeValidation": "loose"}}),
        (2.2, {"looseTypeValidation": True}),  # n8n 2.1+ keeps the switch top-level
        (2.0, {"options": {"looseTypeValidation": True}}),  # and 2.0 in options
    ],
)
def test_loose_type_validation_converts(version: float, how: dict[str, Any]) -> None:
    assert passes(if_node(condition("5", "number", "gt", 3), version=version, **how)) is True
    assert passes(if_node(condition("10", "number", "lt", "9.5"), version=version, **how)) is False
    assert passes(if_node(condition("true", "boolean", "true"), version=version, **how)) is True
    assert passes(if_node(condition("no", "boolean", "false"), version=version, **how)) is True
    assert passes(if_node(condition(5, "string", "equals", "5"), version=version, **how)) is True
    assert passes(if_node(condition(True, "string", "equals", "true"), version=version, **how)) is True


def test_loose_type_validation_still_rejects_what_cannot_be_converted() -> None:
    with pytest.raises(NodeError, match="'abc' is a string but was expecting a number"):
        passes(if_node(condition("abc", "number", "gt", 3), looseTypeValidation=True))


def test_invalid_regex_is_a_node_error() -> None:
    with pytest.raises(NodeError, match="invalid regular expression"):
        passes(if_node(condition("abc", "string", "regex", "(")))


# -- routing items ------------------------------------------------------------------------------
def test_items_are_routed_with_their_paired_item() -> None:
    node = if_node(condition(True, "boolean", "true"))
    true_items, false_items = execute_node(node, items_of({"a": 1}, {"a": 2}))

    assert true_items == [
        {"json": {"a": 1}, "pairedItem": {"item": 0}},
        {"json": {"a": 2}, "pairedItem": {"item": 1}},
    ]
    assert false_items == []


def test_type_error_fails_the_node_in_a_run_with_the_field_named() -> None:
    nodes = [make_node("T", "manualTrigger"), if_node(condition("5", "number", "gt", 3)), make_node("After")]
    run = run_workflow(nodes, connect(("T", "If"), ("If", "After")), items_of({}))

    assert run.result.status == "error"
    assert run.result.error is not None
    assert run.result.error["node"] == "If"
    assert run.result.error["parameter"] == "conditions.conditions[0].leftValue"
    assert run.result.error["item_index"] == 0
    assert not run.ran("After")
