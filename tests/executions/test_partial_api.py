"""Partial executions through the API (API.md "execute/partial"): which nodes run, which are
reused as references to the executions holding them, which are left out, and the refusals.

The runs execute inside the request (``inline_runs``), so these tests need a transactional database.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from executions.models import Execution, NodeRun
from tests.conftest import connect, make_node

inline = pytest.mark.django_db(transaction=True)


def set_node(name: str, field: str, value: str, x: int, y: int = 0) -> dict[str, Any]:
    return make_node(
        name,
        "set",
        3.4,
        position=(x, y),
        parameters={
            "mode": "manual",
            "includeOtherFields": True,
            "assignments": {"assignments": [{"id": field, "name": field, "value": value, "type": "string"}]},
        },
    )


def definition() -> dict[str, Any]:
    """Start → A → B → C → D, and a side branch Start → Side."""
    nodes = [
        make_node("Start", "manualTrigger"),
        set_node("A", "a", "1", 200),
        set_node("B", "b", "2", 400),
        set_node("C", "c", "3", 600),
        make_node("D", position=(800, 0)),
        make_node("Side", position=(200, 300)),
    ]
    conns = connect(("Start", "A"), ("A", "B"), ("B", "C"), ("C", "D"), ("Start", "Side"))
    return {"nodes": nodes, "connections": conns}


def run_full(api: APIClient, workflow_id: int) -> dict[str, Any]:
    response = api.post(f"/api/workflows/{workflow_id}/execute/", {"wait_till_completion": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "success", body["error"]
    return body


def partial(api: APIClient, workflow_id: int, **body: Any) -> Any:
    return api.post(
        f"/api/workflows/{workflow_id}/execute/partial/", {"wait_till_completion": True, **body}, format="json"
    )


def run_partial(api: APIClient, workflow_id: int, **body: Any) -> dict[str, Any]:
    response = partial(api, workflow_id, **body)
    assert response.status_code == 201, response.content
    result = response.json()
    assert result["status"] == "success", result["error"]
    return result


def change_value(api: APIClient, wf: dict[str, Any], node: str, value: str) -> None:
    nodes = copy.deepcopy(wf["nodes"])
    target = next(n for n in nodes if n["name"] == node)
    target["parameters"]["assignments"]["assignments"][0]["value"] = value
    response = api.patch(f"/api/workflows/{wf['id']}/", {"nodes": nodes}, format="json")
    assert response.status_code == 200, response.content
    wf["nodes"] = nodes


def ran(body: dict[str, Any]) -> set[str]:
    return {name for name, runs in body["run_data"].items() if all(r["reused_from"] is None for r in runs)}


def reused(body: dict[str, Any]) -> dict[str, int | None]:
    return {name: runs[0]["reused_from"] for name, runs in body["run_data"].items() if runs[0]["reused_from"]}


def items(body: dict[str, Any], node: str) -> list[dict[str, Any]]:
    return [item["json"] for item in body["run_data"][node][-1]["data"]["main"][0]]


@pytest.fixture
def wf(create_workflow: Any) -> dict[str, Any]:
    return create_workflow(definition())


@inline
def test_changed_node_and_its_descendants_run_up_to_the_destination_the_rest_is_reused(
    api: APIClient, wf: dict[str, Any], inline_runs: None
) -> None:
    full = run_full(api, wf["id"])
    change_value(api, wf, "B", "changed")
    body = run_partial(api, wf["id"], destination_node="C")
    assert body["execution_mode"] == "partial"
    assert body["mode"] == "manual"
    assert body["parent_execution_id"] == full["id"]
    assert ran(body) == {"B", "C"}
    assert reused(body) == {"Start": full["id"], "A": full["id"]}
    assert "D" not in body["run_data"] and "Side" not in body["run_data"]
    # reused runs answer the earlier outputs, stored as references (no copy of the items)
    for name in ("Start", "A"):
        assert body["run_data"][name][0]["data"] == full["run_data"][name][0]["data"]
    # one reference per reused node to the execution holding its rows, no row of its own
    execution = Execution.objects.get(pk=body["id"])
    assert execution.reused_runs == {"Start": full["id"], "A": full["id"]}
    rows = NodeRun.objects.filter(execution_id=body["id"])
    assert sorted(rows.values_list("node_name", flat=True)) == ["B", "C"]
    assert all(row.output is not None for row in rows)
    assert items(body, "C") == [{"a": "1", "b": "changed", "c": "3"}]
    # a partial run's result equals a full run's of the same definition
    again = run_full(api, wf["id"])
    assert items(again, "C") == items(body, "C")


@inline
def test_reuse_of_a_partial_run_points_at_the_original_rows(
    api: APIClient, wf: dict[str, Any], inline_runs: None
) -> None:
    full = run_full(api, wf["id"])
    change_value(api, wf, "B", "x")
    first = run_partial(api, wf["id"], destination_node="C")
    change_value(api, wf, "C", "y")
    second = run_partial(api, wf["id"], destination_node="D", previous_execution_id=first["id"])
    assert second["parent_execution_id"] == first["id"]
    assert ran(second) == {"C", "D"}
    assert reused(second) == {"Start": full["id"], "A": full["id"], "B": first["id"]}
    assert items(second, "D") == [{"a": "1", "b": "x", "c": "y"}]
    assert items(run_full(api, wf["id"]), "D") == items(second, "D")


@inline
def test_start_node_without_destination_runs_it_and_all_descendants(
    api: APIClient, wf: dict[str, Any], inline_runs: None
) -> None:
    full = run_full(api, wf["id"])
    body = run_partial(api, wf["id"], start_node="B")
    assert body["start_node"] == "B"
    assert ran(body) == {"B", "C", "D"}
    assert reused(body) == {"Start": full["id"], "A": full["id"]}
    assert "Side" not in body["run_data"]
    assert items(body, "D") == items(full, "D")


@inline
def test_exclusive_destination_stops_before_it(api: APIClient, wf: dict[str, Any], inline_runs: None) -> None:
    run_full(api, wf["id"])
    change_value(api, wf, "A", "new")
    body = run_partial(api, wf["id"], destination_node="C", destination_mode="exclusive")
    assert ran(body) == {"A", "B"}
    assert "C" not in body["run_data"] and "D" not in body["run_data"]


@inline
def test_dirty_nodes_run_again_with_their_descendants(api: APIClient, wf: dict[str, Any], inline_runs: None) -> None:
    full = run_full(api, wf["id"])
    body = run_partial(api, wf["id"], destination_node="C", dirty_nodes=["A"])
    assert ran(body) == {"A", "B", "C"}
    assert reused(body) == {"Start": full["id"]}
    # nothing changed and nothing dirty: only the (inclusive) destination runs
    body = run_partial(api, wf["id"], destination_node="C", previous_execution_id=full["id"])
    assert ran(body) == {"C"}


@inline
def test_refusals_name_the_field_and_leave_no_execution(
    api: APIClient, other_api: APIClient, wf: dict[str, Any], create_workflow: Any, inline_runs: None
) -> None:
    full = run_full(api, wf["id"])
    other_wf = create_workflow(definition(), name="second")
    other_exec = run_full(api, other_wf["id"])
    count = Execution.objects.count()
    response = partial(api, wf["id"])
    assert response.status_code == 400
    assert "start_node" in response.json()["detail"] and "destination_node" in response.json()["detail"]
    cases = [
        ({"start_node": "Nope"}, "start_node"),
        ({"destination_node": "Nope"}, "destination_node"),
        ({"destination_node": "C", "dirty_nodes": ["Nope"]}, "dirty_nodes"),
        ({"destination_node": "C", "previous_execution_id": other_exec["id"]}, "previous_execution_id"),
    ]
    for body, field in cases:
        response = partial(api, wf["id"], **body)
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), response.json()

    nodes = copy.deepcopy(wf["nodes"])
    next(n for n in nodes if n["name"] == "C")["disabled"] = True
    assert api.patch(f"/api/workflows/{wf['id']}/", {"nodes": nodes}, format="json").status_code == 200
    response = partial(api, wf["id"], destination_node="C")
    assert response.status_code == 400
    assert "destination_node" in response.json()
    assert Execution.objects.count() == count

    # another user's execution: 404 (and their workflow too)
    bob_wf = other_api.post("/api/workflows/", {"name": "bob's", **definition()}, format="json").json()
    bob_exec = other_api.post(f"/api/workflows/{bob_wf['id']}/execute/", {"wait_till_completion": True}, format="json")
    assert bob_exec.status_code == 201
    count = Execution.objects.count()
    response = partial(api, wf["id"], destination_node="B", previous_execution_id=bob_exec.json()["id"])
    assert response.status_code == 404
    assert partial(other_api, wf["id"], destination_node="B", previous_execution_id=full["id"]).status_code == 404
    assert Execution.objects.count() == count


@inline
def test_start_node_input_data_feeds_the_start_node(api: APIClient, wf: dict[str, Any], inline_runs: None) -> None:
    run_full(api, wf["id"])
    body = run_partial(api, wf["id"], start_node="C", destination_node="D", input_data=[{"given": True}])
    assert ran(body) == {"C", "D"}
    assert items(body, "D") == [{"given": True, "c": "3"}]


def step(api: APIClient, workflow_id: int, node: str, **body: Any) -> Any:
    return api.post(
        f"/api/workflows/{workflow_id}/nodes/{node}/execute/", {"wait_till_completion": True, **body}, format="json"
    )


@inline
def test_execute_step_runs_that_node_only_from_stored_or_given_input(
    api: APIClient, wf: dict[str, Any], create_workflow: Any, inline_runs: None
) -> None:
    # no previous run: the parents' outputs cannot be rebuilt, nothing is created
    response = step(api, wf["id"], "C")
    assert response.status_code == 400, response.content
    assert Execution.objects.count() == 0
    full = run_full(api, wf["id"])
    change_value(api, wf, "C", "stepped")
    response = step(api, wf["id"], "C")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "success", body["error"]
    assert body["execution_mode"] == "partial"
    assert ran(body) == {"C"}
    assert reused(body) == {"Start": full["id"], "A": full["id"], "B": full["id"]}
    assert items(body, "C") == [{"a": "1", "b": "2", "c": "stepped"}]
    # given input: the node alone on those items
    body = step(api, wf["id"], "C", input_data=[{"x": 1}]).json()
    assert body["status"] == "success", body["error"]
    assert list(body["run_data"]) == ["C"]
    assert items(body, "C") == [{"x": 1, "c": "stepped"}]
    assert step(api, wf["id"], "Nope").status_code == 400


@inline
def test_concurrent_partial_runs_of_one_workflow_do_not_interfere(
    api: APIClient, owner: Any, wf: dict[str, Any], inline_runs: None
) -> None:
    full = run_full(api, wf["id"])
    before = Execution.objects.get(pk=full["id"])
    before_rows = list(NodeRun.objects.filter(execution=before).order_by("id").values())

    def one(n: int) -> dict[str, Any]:
        try:
            client = APIClient()
            client.force_authenticate(owner)
            return run_partial(
                client,
                wf["id"],
                start_node="B",
                destination_node="D",
                input_data=[{"n": n}],
                previous_execution_id=full["id"],
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        bodies = list(pool.map(one, range(8)))

    assert len({body["id"] for body in bodies}) == 8
    for n, body in enumerate(bodies):
        # each run saw its own input only, and reused the same earlier runs
        assert items(body, "D") == [{"n": n, "b": "2", "c": "3"}]
        assert ran(body) == {"B", "C", "D"}
        assert reused(body) == {"Start": full["id"], "A": full["id"]}
    # the reused execution is left as it was
    assert list(NodeRun.objects.filter(execution=before).order_by("id").values()) == before_rows
    assert Execution.objects.get(pk=full["id"]).status == "success"


@inline
def test_a_set_replaced_or_removed_pin_makes_its_node_dirty(
    api: APIClient, wf: dict[str, Any], inline_runs: None
) -> None:
    pin_url = f"/api/workflows/{wf['id']}/nodes/A/pin-data/"
    assert api.post(pin_url, {"data": [{"pinned": 1}]}, format="json").status_code == 201
    full = run_full(api, wf["id"])
    assert items(full, "C") == [{"pinned": 1, "b": "2", "c": "3"}]
    # nothing changed: everything before the destination is reused, the pinned node too
    body = run_partial(api, wf["id"], destination_node="C")
    assert ran(body) == {"C"}
    assert reused(body) == {"Start": full["id"], "A": full["id"], "B": full["id"]}
    # a replaced pin: the node emits the new pin and what follows runs again
    assert api.post(pin_url, {"data": [{"pinned": 2}]}, format="json").status_code == 201
    body = run_partial(api, wf["id"], destination_node="C", previous_execution_id=full["id"])
    assert ran(body) == {"A", "B", "C"}
    assert body["run_data"]["A"][0]["pinned"] is True
    assert items(body, "C") == [{"pinned": 2, "b": "2", "c": "3"}]
    # a removed pin: the node runs for real again
    assert api.delete(pin_url).status_code == 204
    again = run_partial(api, wf["id"], destination_node="C", previous_execution_id=body["id"])
    assert ran(again) == {"A", "B", "C"}
    assert again["run_data"]["A"][0]["pinned"] is False
    assert items(again, "C") == [{"a": "1", "b": "2", "c": "3"}]
