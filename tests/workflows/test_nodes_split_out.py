"""Split Out 1: lists and objects into items, other fields, destinations, dot notation, binaries."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import Run, items_of, run_workflow
from workflows.engine.errors import WorkflowValidationError
from workflows.engine.registry import default_registry
from workflows.engine.state import Items
from workflows.engine.validation import validate_workflow


def run_split(items: Items, **parameters: Any) -> Run:
    nodes = [make_node("T", "manualTrigger"), make_node("Split", "splitOut", 1, parameters=parameters)]
    return run_workflow(nodes, connect(("T", "Split")), items)


def test_objects_in_the_list_become_the_new_items() -> None:
    run = run_split(
        items_of({"rows": [{"id": 1}, {"id": 2}], "other": "x"}, {"rows": [{"id": 3}]}),
        fieldToSplitOut="rows",
    )

    assert run.result.status == "success"
    assert run.items("Split") == [
        {"json": {"id": 1}, "pairedItem": {"item": 0}},
        {"json": {"id": 2}, "pairedItem": {"item": 0}},
        {"json": {"id": 3}, "pairedItem": {"item": 1}},
    ]


def test_primitive_elements_are_put_under_the_field_name() -> None:
    run = run_split(items_of({"tags": ["a", "b", None]}), fieldToSplitOut="tags")

    assert run.json("Split") == [{"tags": "a"}, {"tags": "b"}, {"tags": None}]


def test_an_object_is_split_into_its_values() -> None:
    run = run_split(items_of({"byId": {"a": {"n": 1}, "b": {"n": 2}}}), fieldToSplitOut="byId")

    assert run.json("Split") == [{"n": 1}, {"n": 2}]


def test_a_single_value_becomes_one_item() -> None:
    run = run_split(items_of({"tags": "solo"}), fieldToSplitOut="tags")

    assert run.json("Split") == [{"tags": "solo"}]


def test_all_other_fields_are_copied_without_the_split_field() -> None:
    source = {"user": {"name": "ann", "tags": ["a", "b"]}, "id": 7}
    items = items_of(copy.deepcopy(source))
    run = run_split(
        items, fieldToSplitOut="user.tags", include="allOtherFields", options={"destinationFieldName": "tag"}
    )

    assert run.json("Split") == [
        {"user": {"name": "ann"}, "id": 7, "tag": "a"},
        {"user": {"name": "ann"}, "id": 7, "tag": "b"},
    ]
    assert items[0]["json"] == source  # the input item is untouched


def test_dotted_field_names_write_nested_values() -> None:
    # As in n8n, the split value is written at the dotted path and merged shallowly over the
    # other fields, so it replaces the whole top-level object it lands in.
    run = run_split(
        items_of({"user": {"name": "ann", "tags": ["a"]}, "id": 7}),
        fieldToSplitOut="user.tags",
        include="allOtherFields",
    )

    assert run.json("Split") == [{"user": {"tags": "a"}, "id": 7}]


def test_selected_other_fields_copies_only_those() -> None:
    items = items_of({"rows": [{"n": 1}, {"n": 2}], "a": 1, "b": 2, "c": {"d": 3}})
    as_string = run_split(items, fieldToSplitOut="rows", include="selectedOtherFields", fieldsToInclude="a, c.d")
    as_list = run_split(items, fieldToSplitOut="rows", include="selectedOtherFields", fieldsToInclude=["b"])

    # Only `noOtherFields` spreads an object element into the item; otherwise it keeps its name.
    assert as_string.json("Split") == [{"rows": {"n": 1}, "a": 1, "c.d": 3}, {"rows": {"n": 2}, "a": 1, "c.d": 3}]
    assert as_list.json("Split") == [{"rows": {"n": 1}, "b": 2}, {"rows": {"n": 2}, "b": 2}]


def test_selected_other_fields_without_fields_fails() -> None:
    run = run_split(items_of({"rows": [1]}), fieldToSplitOut="rows", include="selectedOtherFields", fieldsToInclude="")

    assert run.result.status == "error"
    assert run.result.error["message"] == "No fields specified"  # type: ignore[index]
    assert run.result.error["description"] == "Please add a field to include"  # type: ignore[index]


def test_destination_field_name() -> None:
    plain = run_split(items_of({"rows": [{"n": 1}]}), fieldToSplitOut="rows", options={"destinationFieldName": "row"})
    dotted = run_split(
        items_of({"rows": [{"n": 1}], "keep": True}),
        fieldToSplitOut="rows",
        include="allOtherFields",
        options={"destinationFieldName": "data.row"},
    )

    assert plain.json("Split") == [{"row": {"n": 1}}]
    assert dotted.json("Split") == [{"keep": True, "data": {"row": {"n": 1}}}]


def test_several_fields_are_split_side_by_side() -> None:
    run = run_split(items_of({"a": [1, 2, 3], "b": ["x", "y"]}), fieldToSplitOut="a, b")

    assert run.json("Split") == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3}]


def test_several_fields_need_as_many_destinations() -> None:
    run = run_split(items_of({"a": [1], "b": [2]}), fieldToSplitOut="a,b", options={"destinationFieldName": "x"})

    assert run.result.status == "error"
    assert run.result.error["message"] == (  # type: ignore[index]
        "If multiple fields to split out are given, the same number of destination fields must be given"
    )


def test_json_prefix_is_ignored() -> None:
    run = run_split(items_of({"rows": [1, 2]}), fieldToSplitOut="$json.rows")

    assert run.json("Split") == [{"rows": 1}, {"rows": 2}]


def test_disable_dot_notation_reads_a_key_with_a_dot() -> None:
    items = items_of({"a.b": [1], "a": {"b": [2]}})
    dotted = run_split(items, fieldToSplitOut="a.b")
    literal = run_split(items_of({"a": {"b": [2]}}), fieldToSplitOut="a.b", options={"disableDotNotation": True})

    assert dotted.json("Split") == [{"a": {"b": 1}}]  # a key holding the whole path wins, as in lodash
    assert literal.json("Split") == []


def test_missing_field_outputs_nothing_and_records_n8ns_hint() -> None:
    run = run_split(items_of({"other": 1}, {"other": 2}), fieldToSplitOut="rows")

    assert run.result.status == "success"
    assert run.record("Split").output == [[]]
    assert run.record("Split").metadata["hints"] == [
        {"message": "The field 'rows' wasn't found in any input item", "location": "outputPane"}
    ]


def test_field_missing_in_some_items_only_gives_no_hint() -> None:
    run = run_split(items_of({"rows": [1]}, {"other": 2}), fieldToSplitOut="rows")

    assert run.json("Split") == [{"rows": 1}]
    assert "hints" not in run.record("Split").metadata


def test_empty_list_outputs_nothing() -> None:
    run = run_split(items_of({"rows": []}), fieldToSplitOut="rows")

    assert run.record("Split").output == [[]]
    assert "hints" not in run.record("Split").metadata


def test_include_binary_copies_the_source_binary() -> None:
    binary = {"file": {"data": "aGk=", "mimeType": "text/plain"}}
    items: Items = [{"json": {"rows": [1, 2]}, "binary": binary, "pairedItem": {"item": 0}}]
    without = run_split(items, fieldToSplitOut="rows")
    with_binary = run_split(items, fieldToSplitOut="rows", options={"includeBinary": True})

    assert all("binary" not in item for item in without.items("Split"))
    assert [item["binary"] for item in with_binary.items("Split")] == [binary, binary]


def test_binary_keys_can_be_split_out() -> None:
    binary = {"a": {"data": "YQ==", "mimeType": "text/plain"}, "b": {"data": "Yg==", "mimeType": "text/plain"}}
    run = run_split([{"json": {"n": 1}, "binary": binary, "pairedItem": {"item": 0}}], fieldToSplitOut="$binary")

    assert run.items("Split") == [
        {"json": {}, "binary": {"a": binary["a"]}, "pairedItem": {"item": 0}},
        {"json": {}, "binary": {"b": binary["b"]}, "pairedItem": {"item": 0}},
    ]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({}, "nodes[1].parameters.fieldToSplitOut"),
        ({"fieldToSplitOut": "  "}, "nodes[1].parameters.fieldToSplitOut"),
        ({"fieldToSplitOut": ["rows"]}, "nodes[1].parameters.fieldToSplitOut"),
        ({"fieldToSplitOut": "rows", "include": "everything"}, "nodes[1].parameters.include"),
        (
            {"fieldToSplitOut": "rows", "include": "selectedOtherFields", "fieldsToInclude": 3},
            "nodes[1].parameters.fieldsToInclude",
        ),
        (
            {"fieldToSplitOut": "rows", "options": {"destinationFieldName": 1}},
            "nodes[1].parameters.options.destinationFieldName",
        ),
    ],
)
def test_invalid_parameters_name_the_parameter(parameters: dict[str, Any], field: str) -> None:
    nodes = [make_node("T", "manualTrigger"), make_node("Split", "splitOut", 1, parameters=parameters)]
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(nodes, connect(("T", "Split")), {}, default_registry())

    assert field in info.value.errors, info.value.errors


def test_expression_field_name_passes_validation() -> None:
    node = make_node("Split", "splitOut", 1, parameters={"fieldToSplitOut": "={{ 'rows' }}", "options": {}})

    validate_workflow([node], {}, {}, default_registry())
