"""Custom execution data: the Execution Data node and ``$execution.customData``, n8n's limits
(key ≤ 50 characters of ``A-Z a-z 0-9 _``, value ≤ 255, ≤ 10 keys) — a node error in test runs,
a refused key with a recorded warning in production, never a truncation — and the execution
list's ``?custom_data__<key>=<value>`` filter.

Runs execute inside the request (``inline_runs``); mode ``cli`` is a production mode the
execute endpoint accepts.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from executions.models import Execution
from tests.conftest import chained, make_node

inline = pytest.mark.django_db(transaction=True)


def save_node(name: str = "Save", x: int = 200, **values: Any) -> dict[str, Any]:
    entries = [{"key": key, "value": value} for key, value in values.items()]
    return make_node(name, "executionData", 1, (x, 0), parameters={"dataToSave": {"values": entries}})


def save_entries(entries: list[tuple[Any, Any]], name: str = "Save", x: int = 200) -> dict[str, Any]:
    values = [{"key": key, "value": value} for key, value in entries]
    return make_node(name, "executionData", 1, (x, 0), parameters={"dataToSave": {"values": values}})


def flow(*middle: dict[str, Any]) -> dict[str, Any]:
    return chained([make_node("Start", "manualTrigger"), *middle, make_node("After", position=(1000, 0))])


def execute(api: APIClient, workflow_id: int, mode: str = "manual", **body: Any) -> dict[str, Any]:
    response = api.post(
        f"/api/workflows/{workflow_id}/execute/", {"wait_till_completion": True, "mode": mode, **body}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def stored(execution_id: int) -> dict[str, Any]:
    return Execution.objects.get(pk=execution_id).custom_data


def warnings_of(body: dict[str, Any], node: str) -> list[dict[str, Any]]:
    return body["run_data"][node][-1]["metadata"].get("warnings", [])


# -- the Execution Data node ---------------------------------------------------------------------
@inline
def test_execution_data_node_saves_its_values_and_passes_items_through(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    node = save_node(order_id="={{ $json.order }}", source="shop", qty="={{ $json.qty }}")
    wf = create_workflow(flow(node))

    body = execute(api, wf["id"], input_data=[{"order": "A-1", "qty": 3}])

    assert body["status"] == "success", body["error"]
    assert body["custom_data"] == {"order_id": "A-1", "source": "shop", "qty": "3"}  # numbers as text
    assert stored(body["id"]) == body["custom_data"]
    assert body["run_data"]["After"][0]["data"]["main"][0][0]["json"] == {"order": "A-1", "qty": 3}
    # the detail and the list both show it
    assert api.get(f"/api/executions/{body['id']}/").json()["custom_data"]["order_id"] == "A-1"
    listed = api.get("/api/executions/", {"workflow": wf["id"]}).json()["results"]
    assert listed[0]["custom_data"]["source"] == "shop"


@inline
def test_with_several_items_the_last_items_value_wins(api: APIClient, create_workflow: Any, inline_runs: None) -> None:
    wf = create_workflow(flow(save_node(last="={{ $json.n }}")))

    body = execute(api, wf["id"], input_data=[{"n": 1}, {"n": 2}, {"n": 3}])

    assert body["custom_data"] == {"last": "3"}


@inline
def test_expressions_set_and_read_custom_data(api: APIClient, create_workflow: Any, inline_runs: None) -> None:
    setter = make_node(
        "Tag",
        "set",
        3.4,
        (200, 0),
        parameters={
            "mode": "manual",
            "assignments": {
                "assignments": [
                    {"id": "a", "name": "a", "value": "={{ $execution.customData.set('user', $json.name) }}"},
                    {"id": "b", "name": "b", "value": "={{ $execution.customData.setAll({ tier: 'gold', n: 2 }) }}"},
                    {"id": "c", "name": "read", "value": "={{ $execution.customData.get('tier') }}"},
                    {"id": "d", "name": "all", "value": "={{ Object.keys($execution.customData.getAll()).join(',') }}"},
                ]
            },
        },
    )
    wf = create_workflow(flow(setter))

    body = execute(api, wf["id"], mode="cli", input_data=[{"name": "ada"}])

    assert body["status"] == "success", body["error"]
    assert body["custom_data"] == {"user": "ada", "tier": "gold", "n": "2"}
    item = body["run_data"]["Tag"][0]["data"]["main"][0][0]["json"]
    assert item["read"] == "gold"
    assert item["all"] == "user,tier,n"


# -- limits: test runs fail the node ---------------------------------------------------------------
LIMIT_CASES = [
    pytest.param([("k" * 51, "v")], "longer than 50 characters", id="key-too-long"),
    pytest.param([("ok", "v" * 256)], "longer than 255 characters", id="value-too-long"),
    pytest.param([("bad-key", "v")], "letters, digits and underscores", id="key-characters"),
    pytest.param([("", "v")], "letters, digits and underscores", id="empty-key"),
    pytest.param([(f"k{i}", "v") for i in range(11)], "at most 10 keys", id="eleven-keys"),
]


@inline
@pytest.mark.parametrize(("entries", "message"), LIMIT_CASES)
def test_a_test_run_over_the_limits_fails_the_node_and_stores_nothing(
    api: APIClient, create_workflow: Any, inline_runs: None, entries: list[tuple[str, str]], message: str
) -> None:
    wf = create_workflow(flow(save_entries([("fine", "1"), *entries])))

    body = execute(api, wf["id"])

    assert body["status"] == "error"
    assert body["error"]["node"] == "Save"
    assert body["error"]["type"] == "CustomDataError"
    assert message in body["error"]["message"]
    assert "After" not in body["run_data"]
    assert stored(body["id"]) == {}  # not even the valid entry, and nothing truncated


@inline
def test_a_boundary_entry_is_accepted_whole(api: APIClient, create_workflow: Any, inline_runs: None) -> None:
    entries = [("k" * 50, "v" * 255), *[(f"k{i}", str(i)) for i in range(9)]]
    wf = create_workflow(flow(save_entries(entries)))

    body = execute(api, wf["id"])

    assert body["status"] == "success", body["error"]
    assert stored(body["id"])["k" * 50] == "v" * 255
    assert len(stored(body["id"])) == 10


# -- limits: production refuses the key and records a warning --------------------------------------
@inline
@pytest.mark.parametrize(("entries", "message"), LIMIT_CASES)
def test_a_production_run_refuses_the_offending_key_with_a_warning(
    api: APIClient, create_workflow: Any, inline_runs: None, entries: list[tuple[str, str]], message: str
) -> None:
    wf = create_workflow(flow(save_entries([("fine", "1"), *entries])))

    body = execute(api, wf["id"], mode="cli")

    assert body["status"] == "success", body["error"]
    data = stored(body["id"])
    assert data["fine"] == "1"
    assert len(data) <= 10
    assert all(len(key) <= 50 and len(value) <= 255 for key, value in data.items())
    assert "k" * 50 not in data and "ok" not in data  # never a truncated key, never a cut value
    warnings = warnings_of(body, "Save")
    assert warnings and all(w["type"] == "customData" for w in warnings)
    assert any(message in w["message"] for w in warnings)
    assert "After" in body["run_data"]  # the run goes on


@inline
def test_production_keeps_the_first_ten_keys_and_refuses_the_rest(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    first = save_entries([(f"a{i}", str(i)) for i in range(8)], name="First", x=200)
    second = save_entries([("b0", "x"), ("b1", "y"), ("b2", "z"), ("a0", "updated")], name="Second", x=400)
    wf = create_workflow(flow(first, second))

    body = execute(api, wf["id"], mode="cli")

    data = stored(body["id"])
    assert set(data) == {*(f"a{i}" for i in range(8)), "b0", "b1"}
    assert data["a0"] == "updated"  # an existing key may change when the data is full
    assert [w["key"] for w in warnings_of(body, "Second")] == ["b2"]
    assert warnings_of(body, "First") == []


@inline
def test_an_expression_over_the_limits_fails_a_test_run_and_warns_in_production(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    setter = make_node(
        "Tag",
        "set",
        3.4,
        (200, 0),
        parameters={
            "mode": "manual",
            "assignments": {
                "assignments": [
                    {"id": "a", "name": "a", "value": "={{ $execution.customData.set('note', 'x'.repeat(300)) }}"},
                    {"id": "b", "name": "b", "value": "={{ $execution.customData.set('ok', 'yes') }}"},
                ]
            },
        },
    )
    wf = create_workflow(flow(setter))

    test_run = execute(api, wf["id"])
    assert test_run["status"] == "error"
    assert test_run["error"]["type"] == "ExpressionError"
    assert "longer than 255 characters" in test_run["error"]["message"]
    assert stored(test_run["id"]) == {}

    production = execute(api, wf["id"], mode="cli")
    assert production["status"] == "success", production["error"]
    assert stored(production["id"]) == {"ok": "yes"}
    assert [w["key"] for w in warnings_of(production, "Tag")] == ["note"]


@inline
def test_warnings_per_node_run_are_bounded(api: APIClient, create_workflow: Any, inline_runs: None) -> None:
    wf = create_workflow(flow(save_node(**{"bad-key": "={{ $json.n }}"})))
    setter = make_node(
        "Tag",
        "set",
        3.4,
        (200, 0),
        parameters={
            "mode": "manual",
            "assignments": {
                "assignments": [{"id": "a", "name": "a", "value": "={{ $execution.customData.set('x-y', 1) }}"}]
            },
        },
    )
    per_item = create_workflow(flow(setter))

    bulk = execute(api, per_item["id"], mode="cli", input_data=[{"n": i} for i in range(30)])
    once = execute(api, wf["id"], mode="cli", input_data=[{"n": i} for i in range(30)])

    tag = bulk["run_data"]["Tag"][0]["metadata"]
    assert (len(tag["warnings"]), tag["warnings_omitted"]) == (20, 10)  # one refusal per item
    assert [w["key"] for w in warnings_of(once, "Save")] == ["bad-key"]  # one per key, not per item


# -- durability ------------------------------------------------------------------------------------
@inline
def test_custom_data_survives_a_wait_and_resume(api: APIClient, create_workflow: Any, inline_runs: None) -> None:
    wait = make_node("Wait", "wait", 1.1, (400, 0), parameters={"resume": "manual"}, webhookId="wh-wait")
    wf = create_workflow(flow(save_node("Before", 200, before="1"), wait, save_node("Later", 600, later="2")))

    body = execute(api, wf["id"])
    assert body["status"] == "waiting"
    assert stored(body["id"]) == {"before": "1"}

    resumed = api.post(f"/api/executions/{body['id']}/resume/", {}, format="json")

    assert resumed.status_code == 200, resumed.content
    assert resumed.json()["status"] == "success"
    assert stored(body["id"]) == {"before": "1", "later": "2"}


# -- the list filter -------------------------------------------------------------------------------
@inline
def test_the_list_filters_on_custom_data_and_shows_only_own_executions(
    api: APIClient, other_api: APIClient, staff_api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    wf = create_workflow(flow(save_node(customer="={{ $json.c }}", region="eu")))
    acme = execute(api, wf["id"], input_data=[{"c": "acme"}])
    globex = execute(api, wf["id"], input_data=[{"c": "globex"}])
    untagged = execute(api, create_workflow(flow())["id"])

    def ids(client: APIClient, params: dict[str, str]) -> list[int]:
        response = client.get("/api/executions/", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(api, {"custom_data__customer": "acme"}) == [acme["id"]]
    assert ids(api, {"custom_data__customer": "globex"}) == [globex["id"]]
    assert ids(api, {"custom_data__region": "eu"}) == [globex["id"], acme["id"]]  # newest first
    assert ids(api, {"custom_data__region": "eu", "custom_data__customer": "acme"}) == [acme["id"]]
    assert ids(api, {"custom_data__customer": "nobody"}) == []
    assert untagged["id"] not in ids(api, {"custom_data__region": "eu"})
    assert ids(api, {"custom_data__region": "eu", "status": "error"}) == []
    # another user's executions never match; staff see them
    assert ids(other_api, {"custom_data__customer": "acme"}) == []
    assert ids(staff_api, {"custom_data__customer": "acme"}) == [acme["id"]]


@pytest.mark.django_db
def test_malformed_execution_data_parameters_are_refused_naming_the_field(api: APIClient) -> None:
    node = make_node("Save", "executionData", 1, (200, 0), parameters={"dataToSave": {"values": "key=value"}})
    body = {"name": "bad", **flow(node)}

    response = api.post("/api/workflows/", body, format="json")

    assert response.status_code == 400
    assert "nodes[1].parameters.dataToSave.values" in response.json()
