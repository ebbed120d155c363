"""What a run knows about itself in expressions: ``$execution``, ``$workflow``, ``$prevNode``,
``$runIndex``, ``$itemIndex``, ``$vars`` (instance variables, read-only to workflows, managed by
staff through ``/api/variables/``) and ``$getWorkflowStaticData``.

Runs execute inside the request (``inline_runs``), through the API, as users start them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from executions.models import Execution
from tests.conftest import chained, make_node
from tests.executions.test_subworkflows import call, passthrough
from workflows.models import Variable, Workflow

inline = pytest.mark.django_db(transaction=True)


def set_node(name: str, fields: dict[str, tuple[str, str]], x: int = 200) -> dict[str, Any]:
    """A Set node assigning ``{field: (expression, type)}``."""
    assignments = [
        {"id": field, "name": field, "value": value, "type": kind} for field, (value, kind) in fields.items()
    ]
    return make_node(
        name,
        "set",
        3.4,
        (x, 0),
        parameters={"mode": "manual", "includeOtherFields": False, "assignments": {"assignments": assignments}},
    )


CONTEXT_FIELDS = {
    "execution_id": ("={{ $execution.id }}", "string"),
    "mode": ("={{ $execution.mode }}", "string"),
    "resume_url": ("={{ $execution.resumeUrl }}", "string"),
    "workflow_id": ("={{ $workflow.id }}", "string"),
    "workflow_name": ("={{ $workflow.name }}", "string"),
    "workflow_active": ("={{ $workflow.active }}", "boolean"),
    "prev": ("={{ $prevNode.name }}", "string"),
    "run_index": ("={{ $runIndex }}", "number"),
    "item_index": ("={{ $itemIndex }}", "number"),
    "region": ("={{ $vars.REGION }}", "string"),
    "missing_var": ("={{ $vars.NOPE ?? 'none' }}", "string"),
    "static_global": ("={{ $getWorkflowStaticData('global').lastId }}", "number"),
    "static_node": ("={{ $getWorkflowStaticData('node').cursor }}", "string"),
}


def execute(api: APIClient, workflow_id: int, **body: Any) -> dict[str, Any]:
    response = api.post(f"/api/workflows/{workflow_id}/execute/", {"wait_till_completion": True, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def output(body: dict[str, Any], node: str) -> list[dict[str, Any]]:
    return [item["json"] for item in body["run_data"][node][-1]["data"]["main"][0]]


@inline
@pytest.mark.parametrize(("mode", "expected"), [("manual", "test"), ("test", "test"), ("cli", "production")])
def test_expressions_see_the_execution_the_workflow_and_the_variables(
    api: APIClient, create_workflow: Any, inline_runs: None, mode: str, expected: str
) -> None:
    Variable.objects.create(key="REGION", value="eu-west")
    wf = create_workflow(
        chained([make_node("Start", "manualTrigger"), set_node("Context", CONTEXT_FIELDS)]), name="Orders"
    )
    Workflow.objects.filter(pk=wf["id"]).update(
        static_data={"global": {"lastId": 41}, "node:Context": {"cursor": "c-9"}, "node:Other": {"cursor": "x"}}
    )

    body = execute(api, wf["id"], mode=mode, input_data=[{"n": 1}, {"n": 2}])

    assert body["status"] == "success", body["error"]
    first, second = output(body, "Context")
    assert first["execution_id"] == str(body["id"])
    assert first["mode"] == expected
    assert first["resume_url"].startswith(f"{django_settings.BUDFLOW_PUBLIC_URL}/webhook-waiting/")
    assert first["workflow_id"] == str(wf["id"])
    assert first["workflow_name"] == "Orders"
    assert first["workflow_active"] is False
    assert first["prev"] == "Start"
    assert first["run_index"] == 0
    assert (first["item_index"], second["item_index"]) == (0, 1)
    assert first["region"] == "eu-west"
    assert first["missing_var"] == "none"
    assert first["static_global"] == 41
    assert first["static_node"] == "c-9"  # the node's own static data (``node:<name>``)


@inline
def test_run_index_counts_the_runs_of_a_node_in_a_loop(api: APIClient, create_workflow: Any, inline_runs: None) -> None:
    # Start → Count → If (runIndex < 2) → back to Count: Count runs three times.
    nodes = [
        make_node("Start", "manualTrigger"),
        set_node("Count", {"run": ("={{ $runIndex }}", "number")}),
        make_node(
            "Again",
            "if",
            2,
            (400, 0),
            parameters={
                "conditions": {
                    "combinator": "and",
                    "conditions": [
                        {
                            "leftValue": "={{ $json.run }}",
                            "rightValue": 2,
                            "operator": {"type": "number", "operation": "lt"},
                        }
                    ],
                }
            },
        ),
    ]
    connections = {
        "Start": {"main": [[{"node": "Count", "type": "main", "index": 0}]]},
        "Count": {"main": [[{"node": "Again", "type": "main", "index": 0}]]},
        "Again": {"main": [[{"node": "Count", "type": "main", "index": 0}], []]},
    }
    body = execute(api, create_workflow({"nodes": nodes, "connections": connections})["id"])

    assert body["status"] == "success", body["error"]
    assert [run["data"]["main"][0][0]["json"]["run"] for run in body["run_data"]["Count"]] == [0, 1, 2]


@inline
@pytest.mark.parametrize(("mode", "expected"), [("manual", "test"), ("cli", "production")])
def test_a_sub_workflow_sees_its_parents_execution_mode(
    api: APIClient, create_workflow: Any, inline_runs: None, mode: str, expected: str
) -> None:
    child = create_workflow(
        chained(
            [
                passthrough(),
                set_node("Mode", {"mode": ("={{ $execution.mode }}", "string")}),
            ]
        ),
        name="child",
    )
    parent = create_workflow(
        chained(
            [
                make_node("Start", "manualTrigger"),
                call(child["id"]),
            ]
        ),
        name="parent",
    )

    body = execute(api, parent["id"], mode=mode)

    assert body["status"] == "success", body["error"]
    assert output(body, "Call") == [{"mode": expected}]
    sub = Execution.objects.get(parent_execution_id=body["id"])
    assert sub.mode == "integrated"


# -- $vars is read-only ------------------------------------------------------------------------
@inline
def test_an_expression_cannot_assign_to_a_variable(api: APIClient, create_workflow: Any, inline_runs: None) -> None:
    Variable.objects.create(key="REGION", value="eu-west")
    attempts = {
        "assign": ("={{ $vars.REGION = 'us' }}", "string"),
    }
    wf = create_workflow(chained([make_node("Start", "manualTrigger"), set_node("Write", attempts)]))

    body = execute(api, wf["id"])

    assert body["status"] == "error"
    assert body["error"]["node"] == "Write"
    assert "assignment is not supported" in body["error"]["message"]
    assert Variable.objects.get(key="REGION").value == "eu-west"


@inline
def test_methods_on_vars_return_copies_and_leave_the_variables_unchanged(
    api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    Variable.objects.create(key="REGION", value="eu-west")
    fields = {
        "merged": ("={{ Object.assign($vars, { REGION: 'us', EXTRA: 'x' }).REGION }}", "string"),
        "after": ("={{ $vars.REGION }}", "string"),
        "extra": ("={{ $vars.EXTRA ?? 'absent' }}", "string"),
    }
    wf = create_workflow(chained([make_node("Start", "manualTrigger"), set_node("Try", fields)]))

    body = execute(api, wf["id"])

    assert body["status"] == "success", body["error"]
    assert output(body, "Try") == [{"merged": "us", "after": "eu-west", "extra": "absent"}]
    assert dict(Variable.objects.values_list("key", "value")) == {"REGION": "eu-west"}


@inline
def test_a_changed_variable_is_seen_by_the_next_run(
    api: APIClient, staff_api: APIClient, create_workflow: Any, inline_runs: None
) -> None:
    staff_api.post("/api/variables/", {"key": "REGION", "value": "eu-west"}, format="json")
    wf = create_workflow(
        chained([make_node("Start", "manualTrigger"), set_node("Read", {"r": ("={{ $vars.REGION }}", "string")})])
    )
    assert output(execute(api, wf["id"]), "Read") == [{"r": "eu-west"}]

    changed = staff_api.put("/api/variables/REGION/", {"key": "REGION", "value": "us-east"}, format="json")
    assert changed.status_code == 200
    assert output(execute(api, wf["id"]), "Read") == [{"r": "us-east"}]


# -- the variables API ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_any_signed_in_user_lists_and_reads_variables_but_only_staff_write(
    api: APIClient, other_api: APIClient, staff_api: APIClient, anon_api: APIClient
) -> None:
    created = staff_api.post("/api/variables/", {"key": "API_BASE", "value": "https://x.test"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["key"] == "API_BASE"

    for client in (api, other_api, staff_api):
        listed = client.get("/api/variables/")
        assert listed.status_code == 200
        assert [(v["key"], v["value"]) for v in listed.json()["results"]] == [("API_BASE", "https://x.test")]
        assert client.get("/api/variables/API_BASE").json()["value"] == "https://x.test"

    # a non-staff owner may not create, change or delete
    assert api.post("/api/variables/", {"key": "MINE", "value": "1"}, format="json").status_code == 403
    assert api.put("/api/variables/API_BASE/", {"key": "API_BASE", "value": "evil"}, format="json").status_code == 403
    assert api.patch("/api/variables/API_BASE/", {"value": "evil"}, format="json").status_code == 403
    assert api.delete("/api/variables/API_BASE/").status_code == 403
    assert anon_api.get("/api/variables/").status_code == 401
    assert dict(Variable.objects.values_list("key", "value")) == {"API_BASE": "https://x.test"}

    # staff change, rename and delete
    assert staff_api.patch("/api/variables/API_BASE/", {"value": "https://y.test"}, format="json").status_code == 200
    renamed = staff_api.put("/api/variables/API_BASE/", {"key": "BASE_URL", "value": "https://y.test"}, format="json")
    assert renamed.status_code == 200
    assert dict(Variable.objects.values_list("key", "value")) == {"BASE_URL": "https://y.test"}
    assert staff_api.delete("/api/variables/BASE_URL/").status_code == 204
    assert staff_api.get("/api/variables/BASE_URL/").status_code == 404
    assert not Variable.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"key": "has-dash", "value": "v"}, "key", "letters, digits and underscores"),
        ({"key": "has space", "value": "v"}, "key", "letters, digits and underscores"),
        ({"key": "k" * 51, "value": "v"}, "key", "50"),
        ({"key": "", "value": "v"}, "key", None),
        ({"key": "OK", "value": "v" * 1001}, "value", "1000"),
        ({"value": "v"}, "key", None),
        ({"key": "TAKEN", "value": "v"}, "key", "already exists"),
    ],
)
def test_bad_variables_are_refused_naming_the_field(
    staff_api: APIClient, body: dict[str, Any], field: str, text: str | None
) -> None:
    Variable.objects.create(key="TAKEN", value="first")

    response = staff_api.post("/api/variables/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    if text:
        assert text in str(response.json()[field])
    assert dict(Variable.objects.values_list("key", "value")) == {"TAKEN": "first"}


@pytest.mark.django_db
def test_renaming_onto_a_taken_key_is_refused(staff_api: APIClient) -> None:
    Variable.objects.create(key="A", value="1")
    Variable.objects.create(key="B", value="2")

    response = staff_api.put("/api/variables/A/", {"key": "B", "value": "1"}, format="json")

    assert response.status_code == 400
    assert "already exists" in str(response.json()["key"])
    assert dict(Variable.objects.values_list("key", "value")) == {"A": "1", "B": "2"}


@pytest.mark.django_db
def test_variables_are_managed_in_the_admin(staff: Any, client: Any) -> None:
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)

    response = client.post("/admin/workflows/variable/add/", {"key": "bad-key", "value": "v"})
    assert response.status_code == 200  # the form again, with the error
    assert not Variable.objects.exists()
    response = client.post("/admin/workflows/variable/add/", {"key": "GOOD_KEY", "value": "v"})
    assert response.status_code == 302
    assert Variable.objects.get().key == "GOOD_KEY"
