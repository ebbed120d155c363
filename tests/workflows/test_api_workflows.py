"""Workflows API: CRUD for the owner, 404 for another user, 401/403 for anonymous, all for staff."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.conftest import connect, linear_workflow, make_node
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def _body(name: str = "wf", count: int = 3, **extra: Any) -> dict[str, Any]:
    return {"name": name, **linear_workflow(count), **extra}


@pytest.fixture
def alice_wf(api: APIClient) -> dict[str, Any]:
    response = api.post("/api/workflows/", _body("alice's"), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# -- owner ----------------------------------------------------------------------------------
def test_create_returns_the_stored_graph_with_version_1(api: APIClient, owner: User) -> None:
    body = _body("Orders", settings={"executionOrder": "v1"}, active=False)
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["name"] == "Orders"
    assert data["version"] == 1
    assert data["owner"] == "alice"
    assert data["active"] is False
    assert [n["name"] for n in data["nodes"]] == ["Start", "Step 1", "Step 2"]
    assert data["nodes"][1]["type"] == "n8n-nodes-base.noOp"
    assert data["connections"] == body["connections"]
    assert data["settings"] == {"executionOrder": "v1"}
    stored = Workflow.objects.get(pk=data["id"])
    assert stored.owner == owner
    assert stored.nodes == data["nodes"]
    assert stored.connections == body["connections"]


def test_create_with_name_only_stores_an_empty_graph(api: APIClient) -> None:
    response = api.post("/api/workflows/", {"name": "empty"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["nodes"], data["connections"], data["settings"], data["version"]) == ([], {}, {}, 1)


def test_list_shows_only_own_workflows_newest_first(api: APIClient, other_api: APIClient, create_workflow: Any) -> None:
    first = create_workflow(name="first")
    second = create_workflow(name="second")
    bobs = other_api.post("/api/workflows/", _body("bob's"), format="json")
    assert bobs.status_code == 201
    response = api.get("/api/workflows/")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    assert [w["id"] for w in data["results"]] == [second["id"], first["id"]]
    assert bobs.json()["id"] not in [w["id"] for w in data["results"]]


def test_retrieve_returns_the_workflow(api: APIClient, alice_wf: dict[str, Any]) -> None:
    response = api.get(f"/api/workflows/{alice_wf['id']}/")
    assert response.status_code == 200
    assert response.json() == alice_wf


def test_put_with_a_changed_graph_bumps_the_version(api: APIClient, alice_wf: dict[str, Any]) -> None:
    body = _body("renamed", count=4)
    response = api.put(f"/api/workflows/{alice_wf['id']}/", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["version"] == 2
    assert data["name"] == "renamed"
    assert [n["name"] for n in data["nodes"]] == ["Start", "Step 1", "Step 2", "Step 3"]
    stored = Workflow.objects.get(pk=alice_wf["id"])
    assert (stored.version, stored.name, len(stored.nodes)) == (2, "renamed", 4)


def test_put_with_the_same_graph_keeps_the_version(api: APIClient, alice_wf: dict[str, Any]) -> None:
    body = _body("new name only")
    response = api.put(f"/api/workflows/{alice_wf['id']}/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1
    assert response.json()["name"] == "new name only"
    assert Workflow.objects.get(pk=alice_wf["id"]).version == 1


@pytest.mark.parametrize(
    "patch",
    [
        {"name": "patched"},
        {"active": True},
        {"settings": {}},
        {"nodes": linear_workflow()["nodes"]},
        {"connections": linear_workflow()["connections"]},
    ],
    ids=["name", "active", "same-settings", "same-nodes", "same-connections"],
)
def test_patch_without_a_graph_change_keeps_the_version(
    api: APIClient, alice_wf: dict[str, Any], patch: dict[str, Any]
) -> None:
    response = api.patch(f"/api/workflows/{alice_wf['id']}/", patch, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["version"] == 1
    for key, value in patch.items():
        assert data[key] == value
    stored = Workflow.objects.get(pk=alice_wf["id"])
    assert stored.version == 1
    assert getattr(stored, next(iter(patch))) == next(iter(patch.values()))


@pytest.mark.parametrize(
    "patch",
    [
        {"settings": {"executionOrder": "v0"}},
        {"nodes": [*linear_workflow()["nodes"], make_node("Extra", position=(800, 0))]},
        {"connections": connect(("Start", "Step 1"))},
    ],
    ids=["settings", "nodes", "connections"],
)
def test_patch_with_a_graph_change_bumps_the_version_once(
    api: APIClient, alice_wf: dict[str, Any], patch: dict[str, Any]
) -> None:
    url = f"/api/workflows/{alice_wf['id']}/"
    response = api.patch(url, patch, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    key, value = next(iter(patch.items()))
    assert response.json()[key] == value
    # the same change again is no change
    again = api.patch(url, patch, format="json")
    assert again.status_code == 200
    assert again.json()["version"] == 2
    assert Workflow.objects.get(pk=alice_wf["id"]).version == 2


def test_refused_patch_changes_nothing(api: APIClient, alice_wf: dict[str, Any]) -> None:
    url = f"/api/workflows/{alice_wf['id']}/"
    bad_nodes = [make_node("Start", "manualTrigger"), make_node("Start")]
    response = api.patch(url, {"name": "should not stick", "nodes": bad_nodes}, format="json")
    assert response.status_code == 400
    assert "nodes[1].name" in response.json()
    stored = Workflow.objects.get(pk=alice_wf["id"])
    assert (stored.name, stored.version, stored.nodes) == ("alice's", 1, alice_wf["nodes"])


def test_delete_answers_204_then_404(api: APIClient, alice_wf: dict[str, Any]) -> None:
    url = f"/api/workflows/{alice_wf['id']}/"
    response = api.delete(url)
    assert response.status_code == 204
    assert not Workflow.objects.filter(pk=alice_wf["id"]).exists()
    assert api.get(url).status_code == 404
    assert api.delete(url).status_code == 404
    assert api.patch(url, {"name": "x"}, format="json").status_code == 404


def test_unknown_id_is_404(api: APIClient) -> None:
    assert api.get("/api/workflows/999999/").status_code == 404
    assert api.get("/api/workflows/99999999999999999999999/").status_code == 404
    assert api.post("/api/workflows/999999/execute/", {}, format="json").status_code == 404


# -- the other user -------------------------------------------------------------------------
def test_other_user_gets_404_on_everything_of_alices(
    api: APIClient, other_api: APIClient, alice_wf: dict[str, Any]
) -> None:
    url = f"/api/workflows/{alice_wf['id']}/"
    assert other_api.get(url).status_code == 404
    assert other_api.put(url, _body("stolen"), format="json").status_code == 404
    assert other_api.patch(url, {"name": "stolen"}, format="json").status_code == 404
    assert other_api.delete(url).status_code == 404
    assert other_api.post(f"{url}execute/", {}, format="json").status_code == 404
    listed = other_api.get("/api/workflows/")
    assert listed.status_code == 200
    assert listed.json()["count"] == 0
    assert listed.json()["results"] == []
    stored = Workflow.objects.get(pk=alice_wf["id"])
    assert (stored.name, stored.version) == ("alice's", 1)
    assert not stored.executions.exists()
    # alice still sees it unchanged
    assert api.get(url).json()["name"] == "alice's"


# -- anonymous ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/workflows/"),
        ("post", "/api/workflows/"),
        ("get", "/api/workflows/{id}/"),
        ("put", "/api/workflows/{id}/"),
        ("patch", "/api/workflows/{id}/"),
        ("delete", "/api/workflows/{id}/"),
        ("post", "/api/workflows/{id}/execute/"),
        ("get", "/api/workflows"),
        ("get", "/api/workflows/{id}"),
        ("post", "/api/workflows/{id}/execute"),
        ("get", "/api/executions/"),
        ("get", "/api/executions/1/"),
        ("delete", "/api/executions/1/"),
        ("post", "/api/executions/1/stop/"),
    ],
)
def test_anonymous_is_refused_everywhere(anon_api: APIClient, alice_wf: dict[str, Any], method: str, path: str) -> None:
    url = path.format(id=alice_wf["id"])
    if method in ("get", "delete"):
        response = getattr(anon_api, method)(url)
    else:
        response = getattr(anon_api, method)(url, _body("anon"), format="json")
    assert response.status_code in (401, 403), (url, response.status_code)
    assert "detail" in response.json()
    stored = Workflow.objects.get(pk=alice_wf["id"])
    assert (stored.name, stored.version) == ("alice's", 1)
    assert Workflow.objects.count() == 1
    assert not stored.executions.exists()


def test_bad_token_is_refused(anon_api: APIClient, alice_wf: dict[str, Any]) -> None:
    anon_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert anon_api.get("/api/workflows/").status_code in (401, 403)


# -- staff ----------------------------------------------------------------------------------
def test_staff_see_and_change_every_workflow(
    staff_api: APIClient, other_api: APIClient, alice_wf: dict[str, Any]
) -> None:
    bobs = other_api.post("/api/workflows/", _body("bob's"), format="json").json()
    listed = staff_api.get("/api/workflows/").json()
    assert {w["id"] for w in listed["results"]} == {alice_wf["id"], bobs["id"]}
    assert {w["owner"] for w in listed["results"]} == {"alice", "bob"}
    url = f"/api/workflows/{alice_wf['id']}/"
    assert staff_api.get(url).status_code == 200
    patched = staff_api.patch(url, {"name": "fixed by staff", "settings": {"executionOrder": "v0"}}, format="json")
    assert patched.status_code == 200
    assert patched.json()["owner"] == "alice"
    assert patched.json()["version"] == 2
    stored = Workflow.objects.get(pk=alice_wf["id"])
    assert (stored.name, stored.owner.username) == ("fixed by staff", "alice")
    assert staff_api.delete(f"/api/workflows/{bobs['id']}/").status_code == 204
    assert not Workflow.objects.filter(pk=bobs["id"]).exists()


def test_a_workflow_created_by_staff_is_not_visible_to_others(
    staff_api: APIClient, api: APIClient, staff: User
) -> None:
    created = staff_api.post("/api/workflows/", _body("staff's"), format="json")
    assert created.status_code == 201
    assert Workflow.objects.get(pk=created.json()["id"]).owner == staff
    assert api.get(f"/api/workflows/{created.json()['id']}/").status_code == 404


# -- token auth -----------------------------------------------------------------------------
def test_token_endpoint_issues_a_working_token(anon_api: APIClient, owner: User, alice_wf: dict[str, Any]) -> None:
    response = anon_api.post("/api/auth/token/", {"username": "alice", "password": "alice-password"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == owner.auth_token.key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get("/api/workflows/")
    assert listed.status_code == 200
    assert [w["id"] for w in listed.json()["results"]] == [alice_wf["id"]]


def test_token_endpoint_refuses_a_wrong_password(anon_api: APIClient, owner: User) -> None:
    response = anon_api.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_token_endpoint_without_trailing_slash(anon_api: APIClient, owner: User) -> None:
    response = anon_api.post("/api/auth/token", {"username": "alice", "password": "alice-password"}, format="json")
    assert response.status_code == 200


# -- paths with and without the trailing slash -----------------------------------------------
def test_paths_work_with_and_without_trailing_slash(api: APIClient) -> None:
    created = api.post("/api/workflows", _body("no slash"), format="json")
    assert created.status_code == 201, created.content
    wf_id = created.json()["id"]
    for url in (f"/api/workflows/{wf_id}", f"/api/workflows/{wf_id}/"):
        got = api.get(url)
        assert got.status_code == 200, url
        assert got.json()["id"] == wf_id
    assert api.get("/api/workflows").json()["count"] == 1
    assert api.get("/api/workflows/").json()["count"] == 1
    patched = api.patch(f"/api/workflows/{wf_id}", {"name": "patched"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["name"] == "patched"
    put = api.put(f"/api/workflows/{wf_id}", _body("put", count=2), format="json")
    assert put.status_code == 200
    assert put.json()["version"] == 2
    for url in (f"/api/workflows/{wf_id}/execute", f"/api/workflows/{wf_id}/execute/"):
        executed = api.post(url, {}, format="json")
        assert executed.status_code == 201, url
        assert executed.json()["workflow"] == wf_id
    execution_id = executed.json()["id"]
    for url in ("/api/executions", "/api/executions/"):
        assert api.get(url).json()["count"] == 2
    for url in (f"/api/executions/{execution_id}", f"/api/executions/{execution_id}/"):
        assert api.get(url).json()["id"] == execution_id
    stopped = api.post(f"/api/executions/{execution_id}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "canceled"
    assert api.delete(f"/api/executions/{execution_id}").status_code == 204
    assert api.delete(f"/api/workflows/{wf_id}").status_code == 204
    assert not Workflow.objects.filter(pk=wf_id).exists()


# -- schema and docs ------------------------------------------------------------------------
def test_schema_is_an_openapi_document(api: APIClient) -> None:
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "BudFlow API"
    paths = schema["paths"]
    for path in (
        "/api/workflows/",
        "/api/workflows/{id}/",
        "/api/workflows/{id}/execute/",
        "/api/executions/",
        "/api/executions/{id}/",
        "/api/executions/{id}/stop/",
        "/api/auth/token/",
    ):
        assert path in paths, path
    assert set(paths["/api/workflows/{id}/"]) >= {"get", "put", "patch", "delete"}


def test_schema_default_format_is_yaml_openapi(anon_api: APIClient) -> None:
    response = anon_api.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_docs_page_answers(anon_api: APIClient) -> None:
    response = anon_api.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()
    assert b"/api/schema/" in response.content
