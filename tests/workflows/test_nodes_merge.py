"""The Merge node 3–3.2: append, combine by position / fields / all, choose branch, clash handling."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import condition, conditions, execute_node, items_of, run_workflow
from workflows.engine.state import Items


def merge(**parameters: Any) -> dict[str, Any]:
    return make_node("Merge", "merge", 3.2, parameters=parameters)


def combine(by: str, **parameters: Any) -> dict[str, Any]:
    return merge(mode="combine", combineBy=by, **parameters)


def by_fields(join: str | None = None, fields: str = "id", **parameters: Any) -> dict[str, Any]:
    if join is not None:
        parameters["joinMode"] = join
    return combine("combineByFields", fieldsToMatchString=fields, **parameters)


def clash(resolve: str, merge_mode: str = "deepMerge") -> dict[str, Any]:
    return {"clashHandling": {"values": {"resolveClash": resolve, "mergeMode": merge_mode}}}


def jsons(items: Items) -> list[dict[str, Any]]:
    return [item["json"] for item in items]


def paired(items: Items) -> list[Any]:
    return [item["pairedItem"] for item in items]


LEFT = items_of({"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "Cy"})
RIGHT = items_of({"id": 2, "city": "Oslo"}, {"id": 4, "city": "Rome"}, {"id": 1, "city": "Lima"})


# -- append ---------------------------------------------------------------------------------------
def test_append_outputs_input_1_then_input_2() -> None:
    (out,) = execute_node(merge(mode="append"), items_of({"a": 1}, {"a": 2}), items_of({"b": 1}))

    assert jsons(out) == [{"a": 1}, {"a": 2}, {"b": 1}]
    assert paired(out) == [{"item": 0, "input": 0}, {"item": 1, "input": 0}, {"item": 0, "input": 1}]


def test_append_with_three_inputs() -> None:
    node = merge(mode="append", numberInputs=3)
    (out,) = execute_node(node, items_of({"a": 1}), items_of({"b": 1}), items_of({"c": 1}))

    assert jsons(out) == [{"a": 1}, {"b": 1}, {"c": 1}]
    assert paired(out)[2] == {"item": 0, "input": 2}


def test_append_with_an_empty_input() -> None:
    (out,) = execute_node(merge(mode="append"), items_of({"a": 1}), None)

    assert jsons(out) == [{"a": 1}]


# -- combine by position ---------------------------------------------------------------------------
def test_combine_by_position_pairs_items_and_stops_at_the_shorter_input() -> None:
    node = combine("combineByPosition")
    (out,) = execute_node(node, items_of({"a": 1}, {"a": 2}, {"a": 3}), items_of({"b": 1}, {"b": 2}))

    assert jsons(out) == [{"a": 1, "b": 1}, {"a": 2, "b": 2}]
    assert paired(out) == [
        [{"item": 0, "input": 0}, {"item": 0, "input": 1}],
        [{"item": 1, "input": 0}, {"item": 1, "input": 1}],
    ]


def test_combine_by_position_include_unpaired_keeps_the_rest() -> None:
    node = combine("combineByPosition", options={"includeUnpaired": True})
    (out,) = execute_node(node, items_of({"a": 1}, {"a": 2}, {"a": 3}), items_of({"b": 1}))

    assert jsons(out) == [{"a": 1, "b": 1}, {"a": 2}, {"a": 3}]
    assert paired(out)[2] == [{"item": 2, "input": 0}]


def test_combine_by_position_prefers_input_2_on_a_clash_by_default() -> None:
    (out,) = execute_node(combine("combineByPosition"), items_of({"k": "one", "a": 1}), items_of({"k": "two"}))

    assert jsons(out) == [{"k": "two", "a": 1}]


def test_combine_by_position_prefer_input_1() -> None:
    node = combine("combineByPosition", options=clash("preferInput1"))
    (out,) = execute_node(node, items_of({"k": "one", "a": 1}), items_of({"k": "two", "b": 2}))

    assert jsons(out) == [{"k": "one", "a": 1, "b": 2}]


def test_combine_by_position_add_suffix() -> None:
    node = combine("combineByPosition", options=clash("addSuffix"))
    (out,) = execute_node(node, items_of({"k": "one", "a": 1}), items_of({"k": "two"}))

    assert jsons(out) == [{"k_1": "one", "a_1": 1, "k_2": "two"}]


def test_deep_merge_merges_nested_objects_and_shallow_merge_replaces_them() -> None:
    first, second = items_of({"o": {"x": 1, "y": 1}}), items_of({"o": {"y": 2}})

    (deep,) = execute_node(combine("combineByPosition", options=clash("preferLast")), first, second)
    (shallow,) = execute_node(combine("combineByPosition", options=clash("preferLast", "shallowMerge")), first, second)

    assert jsons(deep) == [{"o": {"x": 1, "y": 2}}]
    assert jsons(shallow) == [{"o": {"y": 2}}]


def test_combine_does_not_modify_its_inputs() -> None:
    first, second = items_of({"o": {"x": 1}}), items_of({"o": {"y": 2}})
    execute_node(combine("combineByPosition"), first, second)

    assert first == items_of({"o": {"x": 1}})
    assert second == items_of({"o": {"y": 2}})


# -- combine by fields -------------------------------------------------------------------------------
def test_keep_matches_is_the_default() -> None:
    (out,) = execute_node(by_fields(), LEFT, RIGHT)

    assert jsons(out) == [{"id": 1, "name": "Ada", "city": "Lima"}, {"id": 2, "name": "Bob", "city": "Oslo"}]
    assert paired(out) == [
        [{"item": 0, "input": 0}, {"item": 2, "input": 1}],
        [{"item": 1, "input": 0}, {"item": 0, "input": 1}],
    ]


def test_keep_matches_output_from_one_input() -> None:
    (from_1,) = execute_node(by_fields("keepMatches", outputDataFrom="input1"), LEFT, RIGHT)
    (from_2,) = execute_node(by_fields("keepMatches", outputDataFrom="input2"), LEFT, RIGHT)

    assert jsons(from_1) == [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]
    assert jsons(from_2) == [{"id": 1, "city": "Lima"}, {"id": 2, "city": "Oslo"}]
    assert paired(from_2) == [{"item": 2, "input": 1}, {"item": 0, "input": 1}]


def test_keep_matches_includes_every_match() -> None:
    right = items_of({"id": 1, "tag": "a"}, {"id": 1, "tag": "b"})
    (out,) = execute_node(by_fields("keepMatches"), items_of({"id": 1}), right)

    assert jsons(out) == [{"id": 1, "tag": "a"}, {"id": 1, "tag": "b"}]


def test_keep_non_matches() -> None:
    (both,) = execute_node(by_fields("keepNonMatches"), LEFT, RIGHT)
    (only_1,) = execute_node(by_fields("keepNonMatches", outputDataFrom="input1"), LEFT, RIGHT)
    (only_2,) = execute_node(by_fields("keepNonMatches", outputDataFrom="input2"), LEFT, RIGHT)

    assert jsons(both) == [{"id": 3, "name": "Cy"}, {"id": 4, "city": "Rome"}]
    assert paired(both) == [{"item": 2, "input": 0}, {"item": 1, "input": 1}]
    assert jsons(only_1) == [{"id": 3, "name": "Cy"}]
    assert jsons(only_2) == [{"id": 4, "city": "Rome"}]


def test_keep_everything() -> None:
    (out,) = execute_node(by_fields("keepEverything"), LEFT, RIGHT)

    assert jsons(out) == [
        {"id": 1, "name": "Ada", "city": "Lima"},
        {"id": 2, "name": "Bob", "city": "Oslo"},
        {"id": 3, "name": "Cy"},
        {"id": 4, "city": "Rome"},
    ]


def test_enrich_input_1_keeps_every_item_of_input_1() -> None:
    (out,) = execute_node(by_fields("enrichInput1"), LEFT, RIGHT)

    assert jsons(out) == [
        {"id": 1, "name": "Ada", "city": "Lima"},
        {"id": 2, "name": "Bob", "city": "Oslo"},
        {"id": 3, "name": "Cy"},
    ]
    assert paired(out)[2] == {"item": 2, "input": 0}


def test_enrich_input_2_keeps_every_item_of_input_2() -> None:
    left = items_of({"id": 1, "name": "Ada"}, {"id": 5, "name": "Eve"})
    right = items_of({"id": 1, "city": "Lima"}, {"id": 4, "city": "Rome"})
    (out,) = execute_node(by_fields("enrichInput2"), left, right)

    assert jsons(out) == [{"id": 1, "name": "Ada", "city": "Lima"}, {"id": 4, "city": "Rome"}]
    assert paired(out)[1] == {"item": 1, "input": 1}


def test_match_on_several_fields() -> None:
    left = items_of({"a": 1, "b": "x", "l": 1}, {"a": 1, "b": "y", "l": 2})
    right = items_of({"a": 1, "b": "y", "r": 3})
    (out,) = execute_node(by_fields("keepMatches", fields="a, b"), left, right)

    assert jsons(out) == [{"a": 1, "b": "y", "l": 2, "r": 3}]


def test_match_fields_with_different_names_and_nested_paths() -> None:
    node = combine(
        "combineByFields",
        advanced=True,
        mergeByFields={"values": [{"field1": "user.id", "field2": "userId"}]},
        joinMode="keepMatches",
    )
    (out,) = execute_node(node, items_of({"user": {"id": 7}}), items_of({"userId": 7, "ok": True}, {"userId": 8}))

    assert jsons(out) == [{"user": {"id": 7}, "userId": 7, "ok": True}]


def test_values_of_different_types_do_not_match() -> None:
    (out,) = execute_node(by_fields("keepMatches"), items_of({"id": 1}), items_of({"id": "1"}))

    assert out == []


def test_items_without_the_field_never_match() -> None:
    (out,) = execute_node(by_fields("keepNonMatches"), items_of({"other": 1}), items_of({"other": 1}))

    assert jsons(out) == [{"other": 1}, {"other": 1}]


def test_combine_by_fields_clash_handling() -> None:
    left, right = items_of({"id": 1, "v": "left"}), items_of({"id": 1, "v": "right"})

    (default,) = execute_node(by_fields("keepMatches"), left, right)
    (prefer_1,) = execute_node(by_fields("keepMatches", options=clash("preferInput1")), left, right)
    (suffix,) = execute_node(by_fields("keepMatches", options=clash("addSuffix")), left, right)

    assert jsons(default) == [{"id": 1, "v": "right"}]
    assert jsons(prefer_1) == [{"id": 1, "v": "left"}]
    assert jsons(suffix) == [{"id_1": 1, "v_1": "left", "id_2": 1, "v_2": "right"}]


# -- combine all, choose branch --------------------------------------------------------------------------
def test_combine_all_is_every_pair() -> None:
    (out,) = execute_node(combine("combineAll"), items_of({"a": 1}, {"a": 2}), items_of({"b": 1}, {"b": 2}))

    assert jsons(out) == [{"a": 1, "b": 1}, {"a": 1, "b": 2}, {"a": 2, "b": 1}, {"a": 2, "b": 2}]
    assert paired(out)[1] == [{"item": 0, "input": 0}, {"item": 1, "input": 1}]


def test_combine_all_with_an_empty_input_is_empty() -> None:
    assert execute_node(combine("combineAll"), items_of({"a": 1}), []) == [[]]


@pytest.mark.parametrize(("which", "expected"), [(1, [{"a": 1}, {"a": 2}]), (2, [{"b": 1}])])
def test_choose_branch_outputs_the_specified_input(which: int, expected: list[dict[str, Any]]) -> None:
    node = merge(mode="chooseBranch", output="specifiedInput", useDataOfInput=which)
    (out,) = execute_node(node, items_of({"a": 1}, {"a": 2}), items_of({"b": 1}))

    assert jsons(out) == expected
    assert all(p["input"] == which - 1 for p in paired(out))


def test_choose_branch_empty_outputs_one_empty_item() -> None:
    node = merge(mode="chooseBranch", output="empty")
    (out,) = execute_node(node, items_of({"a": 1}), items_of({"b": 1}))

    assert jsons(out) == [{}]


# -- in a run ---------------------------------------------------------------------------------------------
def _empty_branch_workflow(merge_node: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    nodes = [
        make_node("T", "manualTrigger"),
        make_node("If", "if", 2.2, (200, 0), parameters={"conditions": conditions(condition(True, "boolean", "true"))}),
        merge_node,
        make_node("After", position=(600, 0)),
    ]
    return nodes, connect(("T", "If"), ("If", "Merge", 0, 0), ("If", "Merge", 1, 1), ("Merge", "After"))


def test_append_with_an_empty_branch_runs_with_the_other_input() -> None:
    nodes, conns = _empty_branch_workflow(merge(mode="append"))
    run = run_workflow(nodes, conns, items_of({"a": 1}))

    assert run.order == ["T", "If", "Merge", "After"]
    assert run.json("After") == [{"a": 1}]


def test_choose_branch_with_an_empty_branch_does_not_run() -> None:
    # n8n: chooseBranch requires data on every input ("wait for all inputs to arrive").
    nodes, conns = _empty_branch_workflow(merge(mode="chooseBranch", output="specifiedInput", useDataOfInput=1))
    run = run_workflow(nodes, conns, items_of({"a": 1}))

    assert run.result.status == "success"
    assert run.order == ["T", "If"]
    assert not run.runner.state.waiting


def test_choose_branch_with_both_inputs_runs() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        make_node("A", position=(200, 0)),
        make_node("B", position=(200, 200)),
        merge(mode="chooseBranch", output="specifiedInput", useDataOfInput=2),
    ]
    run = run_workflow(
        nodes, connect(("T", "A"), ("T", "B"), ("A", "Merge", 0, 0), ("B", "Merge", 0, 1)), items_of({"x": 1})
    )

    assert run.order == ["T", "A", "B", "Merge"]
    assert run.items("Merge") == [{"json": {"x": 1}, "pairedItem": {"item": 0, "input": 1}}]


# -- more than two inputs -----------------------------------------------------------------------------------
THREE = (items_of({"k": "one", "a": 1}), items_of({"k": "two", "b": 2}), items_of({"k": "three"}))


def test_combine_by_position_of_three_inputs_lets_the_last_win_by_default() -> None:
    (out,) = execute_node(combine("combineByPosition", numberInputs=3), *THREE)

    assert jsons(out) == [{"k": "three", "a": 1, "b": 2}]
    assert paired(out) == [[{"item": 0, "input": 0}, {"item": 0, "input": 1}, {"item": 0, "input": 2}]]


def test_combine_by_position_of_three_inputs_prefer_input_1() -> None:
    (out,) = execute_node(combine("combineByPosition", numberInputs=3, options=clash("preferInput1")), *THREE)

    assert jsons(out) == [{"k": "one", "a": 1, "b": 2}]


def test_combine_by_position_of_three_inputs_suffixes_each_key_with_its_input_number() -> None:
    (out,) = execute_node(combine("combineByPosition", numberInputs=3, options=clash("addSuffix")), *THREE)

    assert jsons(out) == [{"k_1": "one", "a_1": 1, "k_2": "two", "b_2": 2, "k_3": "three"}]
