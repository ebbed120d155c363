"""Executions API: execute, run data, list / detail / delete / stop, ownership, the event log.

Tests that run an execution inside the request use ``inline_runs`` and a transactional
database (the run starts on commit). The others never commit, so their executions stay ``new``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services import execution_create
from tests.conftest import connect, linear_workflow, make_node
from workflows.models import Workflow

inline = pytest.mark.django_db(transaction=True)
db = pytest.mark.django_db

RUN_KEYS = {
    "run_index",
    "execution_index",
    "status",
    "start_time",
    "execution_time_ms",
    "source",
    "data",
    "error",
    "pinned",
    "reused_from",
}
DETAIL_KEYS = {
    "id",
    "status",
    "mode",
    "execution_mode",
    "workflow",
    "started_at",
    "stopped_at",
    "wait_till",
    "waiting_node",
    "pause",
    "resume_url",
    "start_node",
    "parent_execution_id",
    "retry_of",
    "retry_success_id",
    "execution_depth",
    "custom_data",
    "error",
    "run_data",
}


def execute(client: APIClient, workflow_id: int, **body: Any) -> Any:
    return client.post(f"/api/workflows/{workflow_id}/execute/", body, format="json")


def run(client: APIClient, workflow_id: int, **body: Any) -> dict[str, Any]:
    """Execute inline and wait; the answer must be a 201."""
    response = execute(client, workflow_id, wait_till_completion=True, **body)
    assert response.status_code == 201, response.content
    return response.json()


def set_node(name: str, field: str, value: str, position: tuple[int, int]) -> dict[str, Any]:
    return make_node(
        name,
        "set",
        3.4,
        position=position,
        parameters={
            "mode": "manual",
            "includeOtherFields": True,
            "assignments": {"assignments": [{"id": field, "name": field, "value": value, "type": "string"}]},
        },
    )


def failing_workflow() -> dict[str, Any]:
    """Start → Step 1 → Fail (stopAndError "boom") → After."""
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node("Step 1", position=(200, 0)),
        make_node("Fail", "stopAndError", 1, position=(400, 0), parameters={"errorMessage": "boom"}),
        make_node("After", position=(600, 0)),
    ]
    return {"nodes": nodes, "connections": connect(("Start", "Step 1"), ("Step 1", "Fail"), ("Fail", "After"))}


def two_trigger_workflow() -> dict[str, Any]:
    """A manual trigger, a noOp, and a second manual trigger that is not connected."""
    wf = linear_workflow(2)
    wf["nodes"].append(make_node("Other start", "manualTrigger", position=(0, 300)))
    return wf


@pytest.fixture
def alice_wf(create_workflow: Any) -> dict[str, Any]:
    return create_workflow(name="alice's")


@pytest.fixture
def new_execution(api: APIClient, alice_wf: dict[str, Any]) -> dict[str, Any]:
    """An execution that stays ``new``: the test never commits, so no worker is asked to run it."""
    response = execute(api, alice_wf["id"])
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "new"
    return response.json()


# -- execute --------------------------------------------------------------------------------
@inline
def test_execute_runs_every_node_and_reports_run_data_in_the_api_shape(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    wf = create_workflow(linear_workflow(4))
    body = run(api, wf["id"])
    assert body["status"] == "success"
    assert body["mode"] == "manual"
    assert body["execution_mode"] == "full"
    assert body["workflow"] == wf["id"]
    assert body["error"] is None
    assert body["started_at"] and body["stopped_at"]
    assert body.keys() >= DETAIL_KEYS
    names = ["Start", "Step 1", "Step 2", "Step 3"]
    assert list(body["run_data"]) == names
    for index, name in enumerate(names):
        runs = body["run_data"][name]
        assert len(runs) == 1
        entry = runs[0]
        assert entry.keys() >= RUN_KEYS
        assert entry["run_index"] == 0
        assert entry["execution_index"] == index
        assert entry["status"] == "success"
        assert datetime.fromisoformat(entry["start_time"]).tzinfo is not None
        assert isinstance(entry["execution_time_ms"], (int, float))
        assert entry["execution_time_ms"] >= 0
        assert entry["error"] is None
        assert entry["pinned"] is False
        assert entry["reused_from"] is None
        if index == 0:
            # the trigger without input emits one empty item, which has no parent item
            assert entry["data"]["main"] == [[{"json": {}}]]
            assert entry["source"] == [None]
        else:
            assert entry["data"]["main"] == [[{"json": {}, "pairedItem": {"item": 0}}]]
            assert entry["source"] == [
                {"previousNode": names[index - 1], "previousNodeOutput": 0, "previousNodeRun": 0}
            ]
    # the detail endpoint answers the same run
    detail = api.get(f"/api/executions/{body['id']}/").json()
    assert detail["run_data"] == body["run_data"]
    assert detail["status"] == "success"
    assert NodeRun.objects.filter(execution_id=body["id"]).count() == 4


@inline
def test_input_data_objects_are_wrapped_as_items_and_reach_the_last_node(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    nodes = [
        make_node("Start", "manualTrigger"),
        set_node("Tag", "tag", "seen", (200, 0)),
        make_node("End", position=(400, 0)),
    ]
    wf = create_workflow({"nodes": nodes, "connections": connect(("Start", "Tag"), ("Tag", "End"))})
    body = run(api, wf["id"], input_data=[{"a": 1}, {"json": {"b": 2}}, {"c": {"d": [1, 2]}}])
    assert body["status"] == "success", body["error"]
    start_items = body["run_data"]["Start"][0]["data"]["main"][0]
    assert [item["json"] for item in start_items] == [{"a": 1}, {"b": 2}, {"c": {"d": [1, 2]}}]
    last = body["run_data"]["End"][0]["data"]["main"][0]
    assert [item["json"] for item in last] == [
        {"a": 1, "tag": "seen"},
        {"b": 2, "tag": "seen"},
        {"c": {"d": [1, 2]}, "tag": "seen"},
    ]


@inline
def test_stop_and_error_fails_the_run_and_nothing_after_it_runs(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    wf = create_workflow(failing_workflow())
    body = run(api, wf["id"])
    assert body["status"] == "error"
    assert body["error"]["message"] == "boom"
    assert list(body["run_data"]) == ["Start", "Step 1", "Fail"]
    assert "After" not in body["run_data"]
    fail = body["run_data"]["Fail"][0]
    assert fail["status"] == "error"
    assert fail["error"]["message"] == "boom"
    assert body["run_data"]["Step 1"][0]["status"] == "success"
    execution = Execution.objects.get(pk=body["id"])
    assert execution.status == "error"
    assert execution.stopped_at is not None
    assert not NodeRun.objects.filter(execution=execution, node_name="After").exists()
    types = list(ExecutionEvent.objects.filter(execution=execution).order_by("sequence").values_list("type", flat=True))
    assert types[-2:] == ["node_error", "execution_finished"]
    assert ExecutionEvent.objects.get(execution=execution, type="execution_finished").data["status"] == "error"


@inline
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("inclusive", ["Start", "Step 1", "Step 2"]),
        ("exclusive", ["Start", "Step 1"]),
        (None, ["Start", "Step 1", "Step 2"]),
    ],
)
def test_destination_node_stops_the_run(
    api: APIClient, create_workflow: Any, inline_runs: None, mode: str | None, expected: list[str]
) -> None:
    wf = create_workflow(linear_workflow(5))
    extra = {"destination_mode": mode} if mode else {}
    body = run(api, wf["id"], destination_node="Step 2", **extra)
    assert body["status"] == "success"
    assert list(body["run_data"]) == expected
    assert body["destination_node"] == "Step 2"
    assert body["destination_mode"] == (mode or "inclusive")
    assert set(NodeRun.objects.filter(execution_id=body["id"]).values_list("node_name", flat=True)) == set(expected)


@inline
def test_trigger_node_picks_the_trigger(api: APIClient, create_workflow: Any, inline_runs: None) -> None:
    wf = create_workflow(two_trigger_workflow())
    body = run(api, wf["id"], trigger_node="Other start")
    assert body["status"] == "success"
    assert body["trigger_node"] == "Other start"
    assert list(body["run_data"]) == ["Other start"]
    default = run(api, wf["id"])
    assert default["trigger_node"] == "Start"
    assert list(default["run_data"]) == ["Start", "Step 1"]


@inline
@pytest.mark.parametrize("mode", ["manual", "test", "cli"])
def test_execute_modes(api: APIClient, create_workflow: Any, inline_runs: None, mode: str) -> None:
    wf = create_workflow()
    body = run(api, wf["id"], mode=mode)
    assert body["mode"] == mode
    assert body["status"] == "success"
    assert Execution.objects.get(pk=body["id"]).mode == mode


@db
def test_execute_without_waiting_answers_new(api: APIClient, alice_wf: dict[str, Any]) -> None:
    response = execute(api, alice_wf["id"], input_data=[{"a": 1}])
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "new"
    assert body["run_data"] == {}
    execution = Execution.objects.get(pk=body["id"])
    assert execution.status == "new"
    assert execution.workflow_id == alice_wf["id"]
    assert execution.workflow_snapshot["nodes"] == alice_wf["nodes"]
    assert execution.created_by.username == "alice"


# -- refused executes -----------------------------------------------------------------------
REFUSED_EXECUTES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("trigger-unknown", {"trigger_node": "Nope"}, "trigger_node", "Nope"),
    ("trigger-not-a-trigger", {"trigger_node": "Step 1"}, "trigger_node", "Step 1"),
    ("trigger-not-a-string", {"trigger_node": ["Start"]}, "trigger_node", None),
    ("destination-unknown", {"destination_node": "Nope"}, "destination_node", "Nope"),
    (
        "destination-unreachable",
        {"destination_node": "Step 1", "trigger_node": "Other start"},
        "destination_node",
        "Step 1",
    ),
    ("destination-mode", {"destination_node": "Step 1", "destination_mode": "sideways"}, "destination_mode", None),
    ("input-string", {"input_data": "a=1"}, "input_data", None),
    ("input-number", {"input_data": 5}, "input_data", None),
    ("input-list-of-numbers", {"input_data": [1, 2]}, "input_data", None),
    ("input-list-of-lists", {"input_data": [[{"a": 1}]]}, "input_data", None),
    ("input-json-not-object", {"input_data": [{"json": 5}]}, "input_data", None),
    ("input-binary-not-object", {"input_data": [{"json": {}, "binary": "x"}]}, "input_data", None),
    ("mode-unknown", {"mode": "trigger"}, "mode", None),
    ("wait-not-bool", {"wait_till_completion": "perhaps"}, "wait_till_completion", None),
]


@db
@pytest.mark.parametrize(
    ("body", "key", "node"), [c[1:] for c in REFUSED_EXECUTES], ids=[c[0] for c in REFUSED_EXECUTES]
)
def test_refused_execute_is_a_400_naming_the_field_and_leaves_no_execution(
    api: APIClient, create_workflow: Any, body: dict[str, Any], key: str, node: str | None
) -> None:
    wf = create_workflow(two_trigger_workflow())
    response = execute(api, wf["id"], **body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert key in answer, answer
    if node is not None:
        assert node in " ".join(answer[key])
    assert Execution.objects.count() == 0
    assert ExecutionEvent.objects.count() == 0


@db
@pytest.mark.parametrize("body", [[{"a": 1}], "go"], ids=["list", "string"])
def test_execute_body_must_be_an_object(api: APIClient, alice_wf: dict[str, Any], body: Any) -> None:
    response = api.post(f"/api/workflows/{alice_wf['id']}/execute/", body, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert Execution.objects.count() == 0


@db
def test_execute_a_workflow_without_trigger_is_a_400(api: APIClient, create_workflow: Any) -> None:
    wf = create_workflow({"nodes": [make_node("Lonely")], "connections": {}})
    response = execute(api, wf["id"])
    assert response.status_code == 400
    assert "trigger_node" in response.json()
    assert Execution.objects.count() == 0


# -- list -----------------------------------------------------------------------------------
@inline
def test_list_is_newest_first_and_filters_by_workflow_status_and_mode(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    ok = create_workflow(name="ok")
    bad = create_workflow(failing_workflow(), name="bad")
    first = run(api, ok["id"])
    failed = run(api, bad["id"])
    cli = run(api, ok["id"], mode="cli")
    listed = api.get("/api/executions/")
    assert listed.status_code == 200
    page = listed.json()
    assert page["count"] == 3
    assert [e["id"] for e in page["results"]] == [cli["id"], failed["id"], first["id"]]
    assert "run_data" not in page["results"][0]
    assert page["results"][1]["status"] == "error"
    assert page["results"][1]["workflow_name"] == "bad"

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/executions/?{query}")
        assert response.status_code == 200, response.content
        return [e["id"] for e in response.json()["results"]]

    assert ids(f"workflow={ok['id']}") == [cli["id"], first["id"]]
    assert ids(f"workflow={bad['id']}") == [failed["id"]]
    assert ids("status=error") == [failed["id"]]
    assert ids("status=success") == [cli["id"], first["id"]]
    assert ids("status=success,error") == [cli["id"], failed["id"], first["id"]]
    assert ids("status=waiting") == []
    assert ids("mode=cli") == [cli["id"]]
    assert ids("mode=manual") == [failed["id"], first["id"]]
    assert ids(f"mode=manual&workflow={ok['id']}") == [first["id"]]
    assert ids("workflow=999999") == []


@db
def test_list_is_paginated(api: APIClient, owner: User, alice_wf: dict[str, Any]) -> None:
    workflow = Workflow.objects.get(pk=alice_wf["id"])
    created = [execution_create(workflow=workflow, user=owner).pk for _ in range(53)]
    first = api.get("/api/executions/").json()
    assert first["count"] == 53
    assert len(first["results"]) == 50
    assert [e["id"] for e in first["results"]] == created[::-1][:50]
    assert first["previous"] is None
    assert first["next"]
    second = api.get("/api/executions/", {"page": 2}).json()
    assert [e["id"] for e in second["results"]] == created[::-1][50:]
    assert second["next"] is None


@db
@pytest.mark.parametrize("field", ["workflow", "parent_execution"])
@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "１"])
def test_list_filter_by_id_refuses_a_non_id(api: APIClient, field: str, value: str) -> None:
    response = api.get("/api/executions/", {field: value})
    assert response.status_code == 400
    assert field in response.json()


@db
def test_list_filter_by_a_huge_id_matches_nothing(api: APIClient, new_execution: dict[str, Any]) -> None:
    response = api.get("/api/executions/", {"workflow": "9" * 30})
    assert response.status_code == 200
    assert response.json()["count"] == 0


@db
def test_list_filter_by_custom_data(api: APIClient, owner: User, alice_wf: dict[str, Any]) -> None:
    workflow = Workflow.objects.get(pk=alice_wf["id"])
    tagged = execution_create(workflow=workflow, user=owner)
    execution_create(workflow=workflow, user=owner)
    # custom data is written by the engine ($execution.customData); set it directly here
    Execution.objects.filter(pk=tagged.pk).update(custom_data={"env": "prod", "deep": {"regex": "x"}})

    def ids(params: dict[str, str]) -> list[int]:
        response = api.get("/api/executions/", params)
        assert response.status_code == 200, response.content
        return [e["id"] for e in response.json()["results"]]

    assert ids({"custom_data__env": "prod"}) == [tagged.pk]
    assert ids({"custom_data__env": "dev"}) == []
    assert ids({"custom_data__deep__regex": "x"}) == [tagged.pk]
    # ORM lookup names are keys, never lookups (an invalid regular expression must not reach the database)
    assert ids({"custom_data__env__regex": "("}) == []
    assert ids({"custom_data__env__contains": "p"}) == []
    response = api.get("/api/executions/", {"custom_data__env____x": "1"})
    assert response.status_code == 400


# -- detail ---------------------------------------------------------------------------------
@db
def test_detail_of_a_new_execution(api: APIClient, new_execution: dict[str, Any]) -> None:
    response = api.get(f"/api/executions/{new_execution['id']}/")
    assert response.status_code == 200
    body = response.json()
    assert body.keys() >= DETAIL_KEYS
    assert body["status"] == "new"
    assert body["run_data"] == {}
    assert (body["pause"], body["waiting_node"], body["resume_url"], body["error"]) == (None, None, None, None)
    assert body["trigger_node"] == "Start"
    assert body["execution_depth"] == 0


@db
def test_unknown_execution_is_404(api: APIClient) -> None:
    for method, url in (
        ("get", "/api/executions/999999/"),
        ("delete", "/api/executions/999999/"),
        ("post", "/api/executions/999999/stop/"),
        ("get", "/api/executions/abc/"),
    ):
        assert getattr(api, method)(url).status_code == 404, url


# -- delete ---------------------------------------------------------------------------------
@inline
def test_delete_a_finished_execution_removes_its_rows(
    api: APIClient, alice_wf: dict[str, Any], inline_runs: None
) -> None:
    body = run(api, alice_wf["id"])
    assert NodeRun.objects.filter(execution_id=body["id"]).exists()
    assert ExecutionEvent.objects.filter(execution_id=body["id"]).exists()
    response = api.delete(f"/api/executions/{body['id']}/")
    assert response.status_code == 204
    assert not Execution.objects.filter(pk=body["id"]).exists()
    assert not NodeRun.objects.filter(execution_id=body["id"]).exists()
    assert not ExecutionEvent.objects.filter(execution_id=body["id"]).exists()
    assert api.get(f"/api/executions/{body['id']}/").status_code == 404
    assert Workflow.objects.filter(pk=alice_wf["id"]).exists()


@db
def test_delete_a_new_execution_is_a_conflict(api: APIClient, new_execution: dict[str, Any]) -> None:
    response = api.delete(f"/api/executions/{new_execution['id']}/")
    assert response.status_code == 409
    assert "detail" in response.json()
    assert Execution.objects.get(pk=new_execution["id"]).status == "new"


@db
def test_delete_after_stop(api: APIClient, new_execution: dict[str, Any]) -> None:
    assert api.post(f"/api/executions/{new_execution['id']}/stop/").status_code == 200
    assert api.delete(f"/api/executions/{new_execution['id']}/").status_code == 204
    assert not Execution.objects.filter(pk=new_execution["id"]).exists()


# -- stop -----------------------------------------------------------------------------------
@db
def test_stop_a_new_execution_cancels_it_and_logs_the_event(api: APIClient, new_execution: dict[str, Any]) -> None:
    response = api.post(f"/api/executions/{new_execution['id']}/stop/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "canceled"
    assert body["stopped_at"] is not None
    execution = Execution.objects.get(pk=new_execution["id"])
    assert execution.status == "canceled"
    assert execution.stopped_at is not None
    events = list(ExecutionEvent.objects.filter(execution=execution).order_by("sequence"))
    assert [(e.sequence, e.type) for e in events] == [(1, "execution_finished")]
    assert events[0].data["status"] == "canceled"
    assert events[0].data["workflow_id"] == new_execution["workflow"]
    assert execution.last_sequence == 1
    # stopping again is a conflict and logs nothing
    again = api.post(f"/api/executions/{new_execution['id']}/stop/")
    assert again.status_code == 409
    assert ExecutionEvent.objects.filter(execution=execution).count() == 1


@inline
def test_stop_a_finished_execution_is_a_conflict(api: APIClient, alice_wf: dict[str, Any], inline_runs: None) -> None:
    body = run(api, alice_wf["id"])
    events_before = ExecutionEvent.objects.filter(execution_id=body["id"]).count()
    response = api.post(f"/api/executions/{body['id']}/stop/")
    assert response.status_code == 409
    assert "detail" in response.json()
    execution = Execution.objects.get(pk=body["id"])
    assert execution.status == "success"
    assert ExecutionEvent.objects.filter(execution_id=body["id"]).count() == events_before


# -- ownership ------------------------------------------------------------------------------
@db
def test_other_user_cannot_see_or_touch_alices_executions(
    api: APIClient, other_api: APIClient, new_execution: dict[str, Any]
) -> None:
    url = f"/api/executions/{new_execution['id']}/"
    assert other_api.get(url).status_code == 404
    assert other_api.post(f"{url}stop/").status_code == 404
    assert other_api.delete(url).status_code == 404
    listed = other_api.get("/api/executions/").json()
    assert listed["count"] == 0
    assert other_api.get("/api/executions/", {"workflow": new_execution["workflow"]}).json()["count"] == 0
    execution = Execution.objects.get(pk=new_execution["id"])
    assert execution.status == "new"
    assert not ExecutionEvent.objects.filter(execution=execution).exists()
    assert api.get(url).status_code == 200


@db
def test_other_users_executions_stay_out_of_alices_list(
    api: APIClient, other_api: APIClient, new_execution: dict[str, Any]
) -> None:
    bobs_wf = other_api.post("/api/workflows/", {"name": "bob's", **linear_workflow()}, format="json").json()
    bobs = execute(other_api, bobs_wf["id"]).json()
    assert [e["id"] for e in api.get("/api/executions/").json()["results"]] == [new_execution["id"]]
    assert [e["id"] for e in other_api.get("/api/executions/").json()["results"]] == [bobs["id"]]
    assert api.get(f"/api/executions/{bobs['id']}/").status_code == 404


@db
def test_staff_see_and_stop_everyones_executions(
    staff_api: APIClient, other_api: APIClient, new_execution: dict[str, Any]
) -> None:
    bobs_wf = other_api.post("/api/workflows/", {"name": "bob's", **linear_workflow()}, format="json").json()
    bobs = execute(other_api, bobs_wf["id"]).json()
    listed = staff_api.get("/api/executions/").json()
    assert [e["id"] for e in listed["results"]] == [bobs["id"], new_execution["id"]]
    assert staff_api.get(f"/api/executions/{new_execution['id']}/").status_code == 200
    stopped = staff_api.post(f"/api/executions/{new_execution['id']}/stop/")
    assert stopped.status_code == 200
    assert Execution.objects.get(pk=new_execution["id"]).status == "canceled"
    assert staff_api.delete(f"/api/executions/{new_execution['id']}/").status_code == 204
    assert not Execution.objects.filter(pk=new_execution["id"]).exists()
    # staff may run anyone's workflow
    executed = execute(staff_api, bobs_wf["id"])
    assert executed.status_code == 201
    assert executed.json()["workflow"] == bobs_wf["id"]


@db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/executions/"),
        ("get", "/api/executions/{id}/"),
        ("delete", "/api/executions/{id}/"),
        ("post", "/api/executions/{id}/stop/"),
        ("post", "/api/workflows/{workflow}/execute/"),
    ],
)
def test_anonymous_is_refused(anon_api: APIClient, new_execution: dict[str, Any], method: str, path: str) -> None:
    url = path.format(id=new_execution["id"], workflow=new_execution["workflow"])
    response = getattr(anon_api, method)(url)
    assert response.status_code in (401, 403)
    assert Execution.objects.count() == 1
    assert Execution.objects.get(pk=new_execution["id"]).status == "new"


# -- the event log --------------------------------------------------------------------------
@inline
def test_event_log_of_a_successful_run_is_complete_and_gapless(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    wf = create_workflow(linear_workflow(4))
    body = run(api, wf["id"], input_data=[{"a": 1}, {"a": 2}])
    events = list(ExecutionEvent.objects.filter(execution_id=body["id"]).order_by("sequence"))
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert Execution.objects.get(pk=body["id"]).last_sequence == len(events)
    assert events[0].type == "execution_started"
    assert events[-1].type == "execution_finished"
    assert events[-1].data == {"status": "success", "mode": "manual", "workflow_id": wf["id"], "error": None}
    middle = [(e.type, e.data["node_name"]) for e in events[1:-1]]
    names = ["Start", "Step 1", "Step 2", "Step 3"]
    assert middle == [(kind, name) for name in names for kind in ("node_started", "node_finished")]
    for event in events[1:-1]:
        assert {"node_name", "node_type", "run_index", "execution_index", "status", "start_time", "items", "error"} <= (
            event.data.keys()
        )
        if event.type == "node_finished":
            assert event.data["status"] == "success"
            assert event.data["items"] == [2]
            assert event.data["error"] is None
            assert "json" not in str(event.data)  # counts, never the items
    timestamps = [e.created_at for e in events]
    assert timestamps == sorted(timestamps)
