"""Small node types: Stop and Error, No Operation, Manual Trigger."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import execute_node, items_of, run_workflow
from workflows.engine.errors import StopWorkflowError


def stop_node(**parameters: Any) -> dict[str, Any]:
    return make_node("Stop", "stopAndError", parameters=parameters)


# -- stopAndError -----------------------------------------------------------------------------------
def test_stop_and_error_with_a_message_fails_the_run() -> None:
    nodes = [make_node("T", "manualTrigger"), stop_node(errorType="errorMessage", errorMessage="Invoice missing")]
    run = run_workflow(nodes, connect(("T", "Stop")), items_of({"a": 1}))

    assert run.result.status == "error"
    assert run.result.error == {"message": "Invoice missing", "type": "StopAndError", "node": "Stop"}
    assert run.record("Stop").status == "error"


def test_stop_and_error_without_a_message_has_a_default_one() -> None:
    with pytest.raises(StopWorkflowError, match="Workflow stopped by Stop and Error node"):
        execute_node(stop_node(), items_of({}))


def test_stop_and_error_with_an_error_object() -> None:
    nodes = [
        make_node("T", "manualTrigger"),
        stop_node(errorType="errorObject", errorObject='{"message": "Quota exceeded", "code": 429}'),
    ]
    run = run_workflow(nodes, connect(("T", "Stop")), items_of({}))

    assert run.result.error == {
        "message": "Quota exceeded",
        "type": "StopAndError",
        "node": "Stop",
        "errorObject": {"message": "Quota exceeded", "code": 429},
    }


@pytest.mark.parametrize(
    ("error_object", "message"),
    [
        ('{"description": "Bad input"}', "Bad input"),
        ('{"code": 7}', '{"code": 7}'),
        ({"message": "given as an object"}, "given as an object"),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_stop_and_error_object_message(error_object: Any, message: str) -> None:
    with pytest.raises(StopWorkflowError) as info:
        execute_node(stop_node(errorType="errorObject", errorObject=error_object), items_of({}))

    assert info.value.message == message
    assert isinstance(info.value.extra["errorObject"], dict)


# -- noOp ---------------------------------------------------------------------------------------------
def test_no_op_passes_items_through_as_new_items() -> None:
    binary = {"data": {"id": "file-1", "mimeType": "image/png"}}
    items = [
        {"json": {"a": 1}, "pairedItem": {"item": 5}},
        {"json": {"b": 2}, "binary": binary, "pairedItem": {"item": 9}},
    ]
    (out,) = execute_node(make_node("Pass"), items)

    assert out == [
        {"json": {"a": 1}, "pairedItem": {"item": 0}},
        {"json": {"b": 2}, "binary": binary, "pairedItem": {"item": 1}},
    ]
    assert out[0] is not items[0]
    assert items[0]["pairedItem"] == {"item": 5}  # the input is left as it was


def test_no_op_with_no_items_outputs_none() -> None:
    assert execute_node(make_node("Pass"), []) == [[]]


# -- manualTrigger --------------------------------------------------------------------------------------
def test_manual_trigger_without_input_outputs_one_empty_item() -> None:
    nodes = [make_node("Start", "manualTrigger"), make_node("Next")]
    run = run_workflow(nodes, connect(("Start", "Next")), [])

    assert run.json("Start") == [{}]
    assert run.json("Next") == [{}]


def test_manual_trigger_passes_its_input_items_on() -> None:
    items = items_of({"id": 1}, {"id": 2})
    (out,) = execute_node(make_node("Start", "manualTrigger"), items)

    assert out == items
