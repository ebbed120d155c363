"""Aggregate 1: individual fields into lists, all item data into one list, binaries, errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import Run, items_of, run_workflow
from workflows.engine.errors import WorkflowValidationError
from workflows.engine.registry import default_registry
from workflows.engine.state import Items
from workflows.engine.validation import validate_workflow

PEOPLE = items_of(
    {"name": "ann", "tags": ["a", None], "address": {"city": "Oslo"}},
    {"name": "bob", "tags": ["b"], "address": {"city": None}},
    {"name": None, "tags": None},
)


def run_aggregate(items: Items, **parameters: Any) -> Run:
    nodes = [make_node("T", "manualTrigger"), make_node("Agg", "aggregate", 1, parameters=parameters)]
    return run_workflow(nodes, connect(("T", "Agg")), items)


def fields(*entries: str | dict[str, Any]) -> dict[str, Any]:
    return {
        "fieldToAggregate": [
            {"fieldToAggregate": e, "renameField": False} if isinstance(e, str) else e for e in entries
        ]
    }


# -- individual fields ----------------------------------------------------------------------
def test_individual_fields_collect_values_into_one_item() -> None:
    run = run_aggregate(PEOPLE, aggregate="aggregateIndividualFields", fieldsToAggregate=fields("name", "tags"))

    assert run.result.status == "success"
    assert run.items("Agg") == [
        {
            "json": {"name": ["ann", "bob"], "tags": [["a"], ["b"]]},
            "pairedItem": [{"item": 0}, {"item": 1}, {"item": 2}],
        }
    ]


def test_aggregate_defaults_to_individual_fields() -> None:
    run = run_aggregate(PEOPLE, fieldsToAggregate=fields("name"))

    assert run.json("Agg") == [{"name": ["ann", "bob"]}]


def test_keep_missing_keeps_nulls_and_missing_values() -> None:
    run = run_aggregate(PEOPLE, fieldsToAggregate=fields("name", "tags", "address.city"), options={"keepMissing": True})

    assert run.json("Agg") == [
        {"name": ["ann", "bob", None], "tags": [["a", None], ["b"], None], "city": ["Oslo", None, None]}
    ]


def test_merge_lists_flattens_list_values() -> None:
    run = run_aggregate(PEOPLE, fieldsToAggregate=fields("tags"), options={"mergeLists": True})

    assert run.json("Agg") == [{"tags": ["a", "b"]}]


def test_nested_fields_use_the_last_segment_unless_renamed() -> None:
    renamed = {"fieldToAggregate": "address.city", "renameField": True, "outputFieldName": "where.city"}
    plain = run_aggregate(PEOPLE, fieldsToAggregate=fields("address.city"))
    nested = run_aggregate(PEOPLE, fieldsToAggregate=fields(renamed))

    assert plain.json("Agg") == [{"city": ["Oslo"]}]
    assert nested.json("Agg") == [{"where": {"city": ["Oslo"]}}]


def test_disable_dot_notation_reads_and_writes_literal_keys() -> None:
    items = items_of({"a.b": 1, "a": {"b": 2}}, {"a": {"b": 3}})
    run = run_aggregate(items, fieldsToAggregate=fields("a.b"), options={"disableDotNotation": True})

    assert run.json("Agg") == [{"a.b": [1]}]


def test_the_same_output_field_twice_fails() -> None:
    run = run_aggregate(PEOPLE, fieldsToAggregate=fields("name", "name"))

    assert run.result.status == "error"
    assert run.result.error["message"] == "The 'name' output field is used more than once"  # type: ignore[index]


def test_no_fields_fails_with_n8ns_message() -> None:
    run = run_aggregate(PEOPLE, fieldsToAggregate={"fieldToAggregate": []})

    assert run.result.status == "error"
    assert run.result.error["message"] == "No fields specified"  # type: ignore[index]
    assert run.result.error["description"] == "Please add a field to aggregate"  # type: ignore[index]


def test_a_field_found_in_no_item_gives_an_empty_list_and_a_hint() -> None:
    run = run_aggregate(PEOPLE, fieldsToAggregate=fields("email", "name"))

    assert run.json("Agg") == [{"email": [], "name": ["ann", "bob"]}]
    assert run.record("Agg").metadata["hints"] == [
        {"message": "The field 'email' wasn't found in any input item", "location": "outputPane"}
    ]


# -- all item data --------------------------------------------------------------------------
def test_all_item_data_into_one_list() -> None:
    items = items_of({"a": 1}, {"a": 2, "b": 3})
    run = run_aggregate(items, aggregate="aggregateAllItemData")

    assert run.items("Agg") == [
        {"json": {"data": [{"a": 1}, {"a": 2, "b": 3}]}, "pairedItem": [{"item": 0}, {"item": 1}]}
    ]


def test_all_item_data_with_a_destination_and_specified_fields() -> None:
    items = items_of({"a": 1, "b": 2}, {"c": 3}, {"b": 4})
    run = run_aggregate(
        items,
        aggregate="aggregateAllItemData",
        destinationFieldName="rows",
        include="specifiedFields",
        fieldsToInclude="b, a",
    )

    # An item left with no fields is dropped, and so is its pairing.
    assert run.items("Agg") == [
        {"json": {"rows": [{"a": 1, "b": 2}, {"b": 4}]}, "pairedItem": [{"item": 0}, {"item": 2}]}
    ]


def test_all_item_data_except_fields() -> None:
    items = items_of({"a": 1, "secret": "x"}, {"secret": "y"})
    run = run_aggregate(items, aggregate="aggregateAllItemData", include="allFieldsExcept", fieldsToExclude="secret")

    assert run.json("Agg") == [{"data": [{"a": 1}]}]


# -- binaries -------------------------------------------------------------------------------
def test_include_binaries_merges_them_with_suffixes() -> None:
    png = {"data": "AA==", "mimeType": "image/png", "fileSize": "1 B", "fileExtension": "png"}
    txt = {"data": "YQ==", "mimeType": "text/plain", "fileSize": "1 B", "fileExtension": "txt"}
    items: Items = [
        {"json": {"n": 1}, "binary": {"file": png}, "pairedItem": {"item": 0}},
        {"json": {"n": 2}, "binary": {"file": dict(png)}, "pairedItem": {"item": 1}},
        {"json": {"n": 3}, "binary": {"file": txt}, "pairedItem": {"item": 2}},
    ]
    every = run_aggregate(items, fieldsToAggregate=fields("n"), options={"includeBinaries": True})
    unique = run_aggregate(
        items, fieldsToAggregate=fields("n"), options={"includeBinaries": True, "keepOnlyUnique": True}
    )
    none = run_aggregate(items, fieldsToAggregate=fields("n"))

    assert every.items("Agg")[0]["binary"] == {"file": png, "file_1": png, "file_2": txt}
    assert unique.items("Agg")[0]["binary"] == {"file": png, "file_1": txt}
    assert "binary" not in none.items("Agg")[0]


# -- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"aggregate": "sum"}, "nodes[1].parameters.aggregate"),
        ({"fieldsToAggregate": []}, "nodes[1].parameters.fieldsToAggregate"),
        ({"fieldsToAggregate": {"fieldToAggregate": "name"}}, "nodes[1].parameters.fieldsToAggregate.fieldToAggregate"),
        (
            {"fieldsToAggregate": {"fieldToAggregate": [{"fieldToAggregate": 3}]}},
            "nodes[1].parameters.fieldsToAggregate.fieldToAggregate[0].fieldToAggregate",
        ),
        (
            {"fieldsToAggregate": {"fieldToAggregate": [{"fieldToAggregate": "a", "renameField": "yes"}]}},
            "nodes[1].parameters.fieldsToAggregate.fieldToAggregate[0].renameField",
        ),
        ({"aggregate": "aggregateAllItemData", "destinationFieldName": ""}, "nodes[1].parameters.destinationFieldName"),
        ({"aggregate": "aggregateAllItemData", "include": "some"}, "nodes[1].parameters.include"),
        (
            {"aggregate": "aggregateAllItemData", "include": "specifiedFields", "fieldsToInclude": {"a": 1}},
            "nodes[1].parameters.fieldsToInclude",
        ),
        ({"options": []}, "nodes[1].parameters.options"),
    ],
)
def test_invalid_parameters_name_the_parameter(parameters: dict[str, Any], field: str) -> None:
    nodes = [make_node("T", "manualTrigger"), make_node("Agg", "aggregate", 1, parameters=parameters)]
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(nodes, connect(("T", "Agg")), {}, default_registry())

    assert field in info.value.errors, info.value.errors


def test_n8n_default_export_validates_and_runs() -> None:
    # n8n's default: one entry with an empty field name, skipped at run time.
    parameters = {"fieldsToAggregate": {"fieldToAggregate": [{"fieldToAggregate": "", "renameField": False}]}}
    nodes = [make_node("T", "manualTrigger"), make_node("Agg", "aggregate", 1, parameters=parameters)]
    validate_workflow(nodes, connect(("T", "Agg")), {}, default_registry())

    assert run_workflow(nodes, connect(("T", "Agg")), PEOPLE).json("Agg") == [{}]
