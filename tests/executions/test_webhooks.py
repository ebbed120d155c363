"""Webhook triggers through a live server: the three response modes, routing and test listening."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from executions.models import Execution, WebhookListener
from executions.services.sweeper import expire_webhook_listeners
from tests.conftest import chained, make_node

pytestmark = pytest.mark.django_db(transaction=True)


def webhook_node(path: str, mode: str = "onReceived", method: str = "POST", **params) -> dict:
    return make_node(
        "Webhook",
        "webhook",
        2.1,
        parameters={"httpMethod": method, "path": path, "responseMode": mode, "options": {}, **params},
        webhookId=f"id-{path}",
    )


def hook_workflow(path: str, mode: str, tail: list[dict], **params) -> dict:
    nodes = [webhook_node(path, mode, **params), *tail]
    return chained(nodes)


def set_node(name: str, x: int, field: str, value: str) -> dict:
    return make_node(
        name,
        "set",
        3.4,
        (x, 0),
        parameters={
            "mode": "manual",
            "includeOtherFields": True,
            "assignments": {"assignments": [{"id": "1", "name": field, "value": value, "type": "string"}]},
        },
    )


@pytest.fixture
def active(api, create_workflow):
    def make(definition: dict) -> dict:
        wf = create_workflow(definition)
        response = api.post(f"/api/workflows/{wf['id']}/activate/")
        assert response.status_code == 200, response.content
        assert response.json()["active"] is True
        return wf

    return make


def test_on_received_answers_at_once_with_the_execution_id(live_server, active, inline_runs):
    active(hook_workflow("hook", "onReceived", [make_node("Done", position=(200, 0))]))
    response = httpx.post(
        f"{live_server.url}/webhook/hook?x=1&x=2&y=z", json={"hello": "world"}, headers={"X-Custom": "abc"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Workflow was started"
    execution = Execution.objects.get(pk=body["executionId"])
    assert execution.mode == "webhook" and execution.status == "success"
    item = execution.node_runs.get(node_name="Webhook").output[0][0]["json"]
    assert item["body"] == {"hello": "world"}
    assert item["query"] == {"x": ["1", "2"], "y": "z"}
    assert item["headers"]["x-custom"] == "abc"
    assert item["params"] == {} and item["executionMode"] == "production"
    assert item["webhookUrl"].endswith("/webhook/hook")


def test_last_node_answers_with_the_first_item_of_the_last_node(live_server, active):
    active(hook_workflow("last", "lastNode", [set_node("Mark", 200, "marked", "yes")], responseCode=201))
    response = httpx.post(f"{live_server.url}/webhook/last", json={"n": 1})
    assert response.status_code == 201
    assert response.json()["marked"] == "yes" and response.json()["body"] == {"n": 1}


@pytest.mark.parametrize(("data", "expected"), [("allEntries", list), ("noData", type(None))])
def test_last_node_response_data(live_server, active, data, expected):
    active(hook_workflow(f"last-{data}", "lastNode", [make_node("Done", position=(200, 0))], responseData=data))
    response = httpx.post(f"{live_server.url}/webhook/last-{data}", json={"n": 1})
    assert response.status_code == 200
    parsed = response.json() if response.content else None
    assert isinstance(parsed, expected)
    if data == "allEntries":
        assert parsed[0]["body"] == {"n": 1}


def test_response_node_answers_with_its_body_code_and_headers(live_server, active):
    respond = make_node(
        "Respond",
        "respondToWebhook",
        1.5,
        (200, 0),
        parameters={
            "respondWith": "json",
            "responseBody": '{"ok": true}',
            "options": {"responseCode": 202, "responseHeaders": {"entries": [{"name": "X-Budflow", "value": "yes"}]}},
        },
    )
    active(hook_workflow("respond", "responseNode", [respond]))
    response = httpx.post(f"{live_server.url}/webhook/respond", json={})
    assert response.status_code == 202
    assert response.json() == {"ok": True}
    assert response.headers["x-budflow"] == "yes"


def test_response_node_text_and_error_workflow(live_server, active):
    respond = make_node(
        "Respond", "respondToWebhook", 1.1, (200, 0), parameters={"respondWith": "text", "responseBody": "plain words"}
    )
    active(hook_workflow("text", "responseNode", [respond]))
    response = httpx.post(f"{live_server.url}/webhook/text", content=b"raw", headers={"content-type": "text/plain"})
    assert response.status_code == 200 and response.text == "plain words"


def test_failing_workflow_answers_500(live_server, active):
    fail = make_node("Fail", "stopAndError", 1, (200, 0), parameters={"errorMessage": "nope"})
    active(hook_workflow("fails", "lastNode", [fail]))
    response = httpx.post(f"{live_server.url}/webhook/fails", json={})
    assert response.status_code == 500
    assert Execution.objects.get(pk=response.json()["executionId"]).status == "error"


def test_unknown_path_404_wrong_method_405_bad_json_400(live_server, active):
    active(hook_workflow("only-post", "lastNode", [make_node("Done", position=(200, 0))]))
    assert httpx.post(f"{live_server.url}/webhook/nowhere", json={}).status_code == 404
    assert httpx.get(f"{live_server.url}/webhook/only-post").status_code == 405
    bad = httpx.post(
        f"{live_server.url}/webhook/only-post", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "body"
    assert Execution.objects.count() == 0


def test_dynamic_path_parameters(live_server, active):
    active(hook_workflow("users/:id/orders", "lastNode", [make_node("Done", position=(200, 0))], method="GET"))
    response = httpx.get(f"{live_server.url}/webhook/users/42/orders?full=1")
    assert response.status_code == 200
    assert response.json()["params"] == {"id": "42"} and response.json()["query"] == {"full": "1"}


def test_path_clash_between_active_workflows_is_refused(api, active, create_workflow):
    active(hook_workflow("shared", "onReceived", [make_node("Done", position=(200, 0))]))
    second = create_workflow(hook_workflow("shared", "onReceived", [make_node("Done", position=(200, 0))]))
    response = api.post(f"/api/workflows/{second['id']}/activate/")
    assert response.status_code == 400
    assert "nodes[0].parameters.path" in response.json()
    assert api.get(f"/api/workflows/{second['id']}/").json()["active"] is False
    # Same path, another method is fine.
    third = create_workflow(hook_workflow("shared", "onReceived", [make_node("Done", position=(200, 0))], method="GET"))
    assert api.post(f"/api/workflows/{third['id']}/activate/").status_code == 200


def test_deactivate_removes_the_route(live_server, api, active):
    wf = active(hook_workflow("gone", "lastNode", [make_node("Done", position=(200, 0))]))
    assert httpx.post(f"{live_server.url}/webhook/gone", json={}).status_code == 200
    assert api.post(f"/api/workflows/{wf['id']}/deactivate/").status_code == 200
    assert httpx.post(f"{live_server.url}/webhook/gone", json={}).status_code == 404


def test_manual_run_listens_for_one_test_call(live_server, api, create_workflow):
    wf = create_workflow(hook_workflow("try-me", "lastNode", [set_node("Mark", 200, "seen", "1")]))
    response = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "new" and body["waiting_for_webhook"] is True
    assert body["test_webhook_url"].endswith("/webhook-test/try-me")
    # The production URL is not registered (the workflow is inactive).
    assert httpx.post(f"{live_server.url}/webhook/try-me", json={}).status_code == 404
    answer = httpx.post(f"{live_server.url}/webhook-test/try-me", json={"q": 1})
    assert answer.status_code == 200 and answer.json()["seen"] == "1"
    assert answer.json()["executionMode"] == "test"
    execution = Execution.objects.get(pk=body["id"])
    assert execution.status == "success" and execution.mode == "manual"
    assert httpx.post(f"{live_server.url}/webhook-test/try-me", json={}).status_code == 404


def test_listening_execution_is_canceled_when_nobody_calls(api, create_workflow):
    wf = create_workflow(hook_workflow("silent", "lastNode", [make_node("Done", position=(200, 0))]))
    execution_id = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()["id"]
    WebhookListener.objects.filter(execution_id=execution_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_webhook_listeners() == [execution_id]
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "canceled" and "webhook" in execution.error["message"]
