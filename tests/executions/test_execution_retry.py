"""``POST /api/executions/{id}/retry/``: from the failed node (upstream reused, never re-run),
from the start, from any node; with the original or the current workflow; the refusals."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution
from executions.services.lifecycle import execution_stop
from executions.services.sweeper import start_due
from tests.conftest import Reply, chained, make_node

inline = pytest.mark.django_db(transaction=True)


def http(name: str, url: str, x: int) -> dict[str, Any]:
    return make_node(name, "httpRequest", 4.2, (x, 0), parameters={"url": url})


def set_node(name: str, value: str, x: int) -> dict[str, Any]:
    assignment = {"id": "v", "name": "v", "value": value, "type": "string"}
    return make_node(
        name, "set", 3.4, (x, 0), parameters={"assignments": {"assignments": [assignment]}, "includeOtherFields": True}
    )


@pytest.fixture
def servers(json_server: Any) -> dict[str, Any]:
    """``upstream`` answers; ``flaky`` fails until ``healthy`` is set."""
    state = {"healthy": False}
    upstream_url, upstream_calls = json_server(lambda path: {"up": len(upstream_calls)})
    flaky_url, flaky_calls = json_server(
        lambda path: {"flaky": len(flaky_calls)} if state["healthy"] else Reply({"e": 1}, status=500)
    )
    return {"state": state, "upstream": upstream_calls, "flaky": flaky_calls, "urls": (upstream_url, flaky_url)}


@pytest.fixture
def failed(api: APIClient, create_workflow: Any, inline_runs: None, servers: dict[str, Any]) -> dict[str, Any]:
    upstream_url, flaky_url = servers["urls"]
    wf = create_workflow(
        chained(
            [
                make_node("Start", "manualTrigger"),
                http("Upstream", upstream_url, 200),
                http("Flaky", flaky_url, 400),
                set_node("After", "first", 600),
            ]
        )
    )
    response = api.post(f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True}, format="json")
    body = response.json()
    assert body["status"] == "error" and body["error"]["node"] == "Flaky"
    assert len(servers["upstream"]) == 1 and len(servers["flaky"]) == 1
    servers["state"]["healthy"] = True
    return {"workflow": wf, "execution": body}


def retry(api: APIClient, execution_id: int, **body: Any) -> Any:
    return api.post(f"/api/executions/{execution_id}/retry/", {"wait_till_completion": True, **body}, format="json")


def retried(api: APIClient, execution_id: int, **body: Any) -> dict[str, Any]:
    response = retry(api, execution_id, **body)
    assert response.status_code == 201, response.content
    result = response.json()
    assert result["status"] == "success", result["error"]
    return result


def ran(body: dict[str, Any]) -> set[str]:
    return {name for name, runs in body["run_data"].items() if all(r["reused_from"] is None for r in runs)}


def last_json(body: dict[str, Any], node: str) -> dict[str, Any]:
    return body["run_data"][node][-1]["data"]["main"][0][0]["json"]


@inline
def test_retry_from_the_failed_node_reuses_upstream_and_marks_the_original(
    api: APIClient, failed: dict[str, Any], servers: dict[str, Any]
) -> None:
    original = failed["execution"]
    body = retried(api, original["id"])
    assert body["mode"] == "retry" and body["retry_of"] == original["id"]
    assert ran(body) == {"Flaky", "After"}
    assert {name: runs[0]["reused_from"] for name, runs in body["run_data"].items() if runs[0]["reused_from"]} == {
        "Start": original["id"],
        "Upstream": original["id"],
    }
    # upstream was not called again; the failed node was, with the same input
    assert len(servers["upstream"]) == 1 and len(servers["flaky"]) == 2
    assert last_json(body, "After") == {"flaky": 2, "v": "first"}
    assert body["run_data"]["Flaky"][0]["source"] == [
        {"previousNode": "Upstream", "previousNodeOutput": 0, "previousNodeRun": 0}
    ]
    assert api.get(f"/api/executions/{original['id']}/").json()["retry_success_id"] == body["id"]


@inline
def test_retry_from_the_start_runs_everything_again(
    api: APIClient, failed: dict[str, Any], servers: dict[str, Any]
) -> None:
    body = retried(api, failed["execution"]["id"], **{"from": "start"})
    assert ran(body) == {"Start", "Upstream", "Flaky", "After"}
    assert len(servers["upstream"]) == 2 and len(servers["flaky"]) == 2


@inline
def test_retry_from_a_named_node_runs_it_and_what_follows(
    api: APIClient, failed: dict[str, Any], servers: dict[str, Any]
) -> None:
    body = retried(api, failed["execution"]["id"], **{"from": {"node": "Upstream"}})
    assert ran(body) == {"Upstream", "Flaky", "After"}
    assert len(servers["upstream"]) == 2 and len(servers["flaky"]) == 2


@inline
def test_original_or_current_workflow(api: APIClient, failed: dict[str, Any]) -> None:
    wf = failed["workflow"]
    nodes = copy.deepcopy(wf["nodes"])
    after = next(n for n in nodes if n["name"] == "After")
    after["parameters"]["assignments"]["assignments"][0]["value"] = "current"
    assert api.patch(f"/api/workflows/{wf['id']}/", {"nodes": nodes}, format="json").status_code == 200
    original_id = failed["execution"]["id"]
    assert last_json(retried(api, original_id), "After")["v"] == "first"
    assert last_json(retried(api, original_id, use_current_workflow=True), "After")["v"] == "current"


@inline
def test_refusals(api: APIClient, other_api: APIClient, failed: dict[str, Any]) -> None:
    wf = failed["workflow"]
    original_id = failed["execution"]["id"]
    before = Execution.objects.count()
    # a node that is not in the workflow, by name or after a rename in the current workflow
    response = retry(api, original_id, **{"from": "Nope"})
    assert response.status_code == 400 and "from" in response.json()
    nodes = copy.deepcopy(wf["nodes"])
    next(n for n in nodes if n["name"] == "Flaky")["name"] = "Renamed"
    connections = {"Start": wf["connections"]["Start"], "Upstream": {"main": [[{"node": "Renamed", "index": 0}]]}}
    assert api.patch(f"/api/workflows/{wf['id']}/", {"nodes": nodes, "connections": connections}, format="json")
    response = retry(api, original_id, use_current_workflow=True)
    assert response.status_code == 400 and "Flaky" in " ".join(response.json()["use_current_workflow"])
    assert retry(api, original_id, **{"from": 5}).status_code == 400
    # someone else's execution is not there at all
    assert retry(other_api, original_id).status_code == 404
    assert Execution.objects.count() == before
    # a successful execution is not retried
    ok = retried(api, original_id)
    response = retry(api, ok["id"])
    assert response.status_code == 409


@inline
def test_a_canceled_run_continues_where_it_stopped(
    api: APIClient, create_workflow: Any, inline_runs: None, owner: Any
) -> None:
    wf = create_workflow(
        chained(
            [
                make_node("Start", "manualTrigger"),
                set_node("Before", "b", 200),
                make_node("Wait", "wait", 1.1, (400, 0), parameters={"resume": "webhook"}, webhookId="w"),
                set_node("After", "a", 600),
            ]
        )
    )
    body = api.post(f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True}, format="json").json()
    assert body["status"] == "waiting"
    execution_stop(execution=Execution.objects.get(pk=body["id"]))
    assert Execution.objects.get(pk=body["id"]).status == "canceled"
    response = retry(api, body["id"])
    assert response.status_code == 201, response.content
    again = response.json()
    # the wait runs again (and waits again); what ran before it is reused
    assert again["status"] == "waiting"
    assert {name for name, runs in again["run_data"].items() if runs[0]["reused_from"]} == {"Start", "Before"}


@inline
def test_automatic_retries_with_backoff_then_the_error_workflow(
    api: APIClient, create_workflow: Any, inline_runs: None, json_server: Any
) -> None:
    url, calls = json_server(lambda path: Reply({"e": 1}, status=500))
    handler = create_workflow(chained([make_node("On error", "errorTrigger"), make_node("Log", position=(200, 0))]))
    settings = {
        "executionRetry": {"maxRetries": 2, "interval": 60, "backoffCoefficient": 3},
        "errorWorkflow": str(handler["id"]),
    }
    wf = create_workflow(
        {**chained([make_node("Start", "manualTrigger"), http("Call", url, 200)]), "settings": settings}
    )
    first = Execution.objects.get(
        pk=api.post(
            f"/api/workflows/{wf['id']}/execute/", {"wait_till_completion": True, "mode": "cli"}, format="json"
        ).json()["id"]
    )
    assert first.status == "error"
    chain = [first]
    for number, interval in ((1, 60), (2, 180)):
        retry_run = Execution.objects.get(retry_of=chain[-1])
        # scheduled, not started: it waits for its due time, and no error workflow ran yet
        assert retry_run.status == "new" and retry_run.enqueued_at is None and retry_run.mode == "retry"
        assert abs((retry_run.wait_till - chain[-1].stopped_at).total_seconds() - interval) < 5
        assert not Execution.objects.filter(mode="error").exists()
        assert start_due() == []
        Execution.objects.filter(pk=retry_run.pk).update(wait_till=timezone.now())
        assert start_due() == [retry_run.pk]
        retry_run.refresh_from_db()
        assert retry_run.status == "error", number
        chain.append(retry_run)
    assert len(calls) == 3
    # retries used up: the error workflow runs for the last failure, and no further retry
    assert not Execution.objects.filter(retry_of=chain[-1]).exists()
    handled = Execution.objects.get(mode="error")
    assert handled.triggered_by_id == chain[-1].pk


@pytest.mark.django_db
def test_malformed_execution_retry_setting_is_a_400(api: APIClient) -> None:
    body = {
        "name": "wf",
        **chained([make_node("Start", "manualTrigger")]),
        "settings": {"executionRetry": {"maxRetries": 50}},
    }
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 400 and "settings.executionRetry.maxRetries" in response.json()


@inline
def test_admin_retry_actions_and_chain(
    client: Any, api: APIClient, failed: dict[str, Any], servers: dict[str, Any]
) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    original_id = failed["execution"]["id"]
    for action, upstream_calls in (("retry_from_failed_node", 1), ("retry_from_start", 2)):
        response = client.post(
            "/admin/executions/execution/",
            {"action": action, "_selected_action": [original_id]},
            follow=True,
        )
        assert response.status_code == 200
        assert "Retries started" in response.content.decode()
        assert len(servers["upstream"]) == upstream_calls
    retries = list(Execution.objects.filter(retry_of_id=original_id).order_by("id"))
    assert [r.status for r in retries] == ["success", "success"]
    assert [r.execution_mode for r in retries] == ["partial", "full"]
    page = client.get(f"/admin/executions/execution/{retries[0].pk}/change/").content.decode()
    assert f"#{original_id} (error)" in page and f"▶ #{retries[0].pk} (success)" in page
    # a run that cannot be retried is reported, not retried
    response = client.post(
        "/admin/executions/execution/", {"action": "retry_from_start", "_selected_action": [retries[0].pk]}, follow=True
    )
    assert "only failed, crashed or canceled runs retry" in response.content.decode()
    assert Execution.objects.filter(retry_of_id=retries[0].pk).count() == 0
