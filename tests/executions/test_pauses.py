"""Pause/resume (blueprint section 2): every wait mode and resume trigger, with inline runs."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution, ExecutionEvent, ExecutionPause, NodeRun
from executions.services.pauses import pauses_fire_due
from tests.conftest import _client_for, chained, make_node

pytestmark = pytest.mark.django_db(transaction=True)


def wait_node(name: str = "Wait", x: int = 200, **params) -> dict:
    return make_node(name, "wait", 1.1, (x, 0), parameters=params, webhookId=f"wh-{name}")


def flow(*middle: dict, tail: bool = True) -> dict:
    nodes = [make_node("Start", "manualTrigger"), *middle]
    if tail:
        nodes.append(make_node("After", position=(1000, 0)))
    return chained(nodes)


@pytest.fixture
def start(api, create_workflow, inline_runs):
    def run(definition: dict, items: list | None = None) -> dict:
        wf = create_workflow(definition)
        body = {"wait_till_completion": True}
        if items is not None:
            body["input_data"] = items
        response = api.post(f"/api/workflows/{wf['id']}/execute/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return run


def detail(api, execution_id: int) -> dict:
    return api.get(f"/api/executions/{execution_id}/").json()


def make_due(execution_id: int) -> None:
    ExecutionPause.objects.filter(execution_id=execution_id, status="waiting").update(
        due_at=timezone.now() - timedelta(milliseconds=1)
    )


def test_time_wait_parks_then_the_timer_resumes_it(api, start):
    body = start(flow(wait_node(resume="timeInterval", amount=1, unit="seconds")), [{"n": 1}])
    assert body["status"] == "waiting" and body["waiting_node"] == "Wait"
    assert body["pause"]["type"] == "time"
    pause = ExecutionPause.objects.get(execution_id=body["id"])
    assert 0.5 < (pause.due_at - timezone.now()).total_seconds() <= 1.0
    assert NodeRun.objects.get(execution_id=body["id"], node_name="Wait").status == "waiting"
    assert "After" not in body["run_data"]
    assert pauses_fire_due() == []  # not due yet
    make_due(body["id"])
    assert pauses_fire_due() == [body["id"]]
    done = detail(api, body["id"])
    assert done["status"] == "success"
    assert done["run_data"]["After"][0]["data"]["main"][0][0]["json"] == {"n": 1}
    assert len(done["run_data"]["Wait"]) == 1 and done["run_data"]["Wait"][0]["status"] == "success"
    pause.refresh_from_db()
    assert pause.status == "resumed" and pause.resume_trigger == "timer"
    types = list(ExecutionEvent.objects.filter(execution_id=body["id"]).values_list("type", flat=True))
    assert types.index("execution_waiting") < types.index("execution_resumed") < types.index("execution_finished")


def test_specific_time_in_the_past_fires_on_the_next_pass(api, start):
    body = start(flow(wait_node(resume="specificTime", dateTime="2020-01-01T00:00:00Z")))
    assert body["status"] == "waiting"
    assert pauses_fire_due() == [body["id"]]
    assert detail(api, body["id"])["status"] == "success"


def test_webhook_wait_resumes_once_through_its_signed_url(live_server, api, start):
    body = start(flow(wait_node(resume="webhook", httpMethod="POST")))
    url = body["resume_url"]
    assert body["pause"]["type"] == "webhook" and "/webhook-waiting/" in url
    path = url.split("/webhook-waiting/")[1]
    local = f"{live_server.url}/webhook-waiting/{path}"
    assert httpx.get(local).status_code == 405
    forged = local[:-3] + ("AAA" if not local.endswith("AAA") else "BBB")
    assert httpx.post(forged, json={}).status_code == 404
    other_wait = local.replace(f"/{body['id']}-1-", f"/{body['id']}-2-")
    assert httpx.post(other_wait, json={}).status_code == 404
    response = httpx.post(local + "?source=mail", json={"answer": 42}, headers={"X-Reply": "yes"})
    assert response.status_code == 200 and set(response.json()) == {"message"}
    done = detail(api, body["id"])
    assert done["status"] == "success"
    item = done["run_data"]["Wait"][0]["data"]["main"][0][0]["json"]
    assert item["body"] == {"answer": 42} and item["query"] == {"source": "mail"}
    assert item["headers"]["x-reply"] == "yes"
    assert httpx.post(local, json={}).status_code == 410  # works once


def test_form_wait_renders_validates_and_resumes(live_server, api, start):
    fields = {"values": [{"fieldLabel": "Name", "requiredField": True}, {"fieldLabel": "Age", "fieldType": "number"}]}
    body = start(flow(wait_node(resume="form", formTitle="Tell us", formFields=fields)))
    local = f"{live_server.url}/webhook-waiting/{body['resume_url'].split('/webhook-waiting/')[1]}"
    page = httpx.get(local)
    assert page.status_code == 200 and "Tell us" in page.text and 'name="Name"' in page.text
    missing = httpx.post(local, data={"Age": "3"})
    assert missing.status_code == 400 and "This field is required." in missing.text
    assert detail(api, body["id"])["status"] == "waiting"
    ok = httpx.post(local, data={"Name": "Ada", "Age": "36"})
    assert ok.status_code == 200 and "Thank you" in ok.text
    item = detail(api, body["id"])["run_data"]["Wait"][0]["data"]["main"][0][0]["json"]
    assert item["body"] == {"Name": "Ada", "Age": 36}


def test_manual_wait_validates_resume_data_against_its_schema(api, start):
    schema = '{"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}'
    body = start(flow(wait_node(resume="manual", inputSchema=schema)))
    assert body["pause"]["input_schema"]["required"] == ["ok"]
    bad = api.post(f"/api/executions/{body['id']}/resume/", {"data": {"ok": "yes"}}, format="json")
    assert bad.status_code == 400 and "data.ok" in bad.json()["data"][0]
    assert (
        api.post(
            f"/api/executions/{body['id']}/resume/", {"data": {"ok": True}, "node": "Elsewhere"}, format="json"
        ).status_code
        == 400
    )
    good = api.post(f"/api/executions/{body['id']}/resume/", {"data": {"ok": True}}, format="json")
    assert good.status_code == 200 and good.json()["status"] == "success"
    assert good.json()["run_data"]["After"][0]["data"]["main"][0][0]["json"] == {"ok": True}
    again = api.post(f"/api/executions/{body['id']}/resume/", {"data": {"ok": True}}, format="json")
    assert again.status_code == 409


def test_approval_approved_adds_the_decision_to_every_item(api, start, owner):
    body = start(flow(wait_node(resume="approval", message="Ship it?")), [{"a": 1}, {"a": 2}])
    assert body["pause"] == {**body["pause"], "type": "approval", "message": "Ship it?"}
    response = api.post(f"/api/executions/{body['id']}/approve/", {"comment": "fine", "data": {"x": 1}}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "success"
    items = response.json()["run_data"]["After"][0]["data"]["main"][0]
    assert [i["json"]["a"] for i in items] == [1, 2]
    approval = items[0]["json"]["approval"]
    assert approval["decision"] == "approved" and approval["by"] == "alice"
    assert approval["comment"] == "fine" and approval["data"] == {"x": 1} and approval["at"]
    pause = ExecutionPause.objects.get(execution_id=body["id"])
    assert (pause.decision, pause.resumed_by, pause.comment) == ("approved", owner, "fine")


def test_approval_rejected_ends_in_error_and_runs_nothing_after(api, start):
    body = start(flow(wait_node(resume="approval")))
    response = api.post(f"/api/executions/{body['id']}/reject/", {"comment": "too risky"}, format="json")
    assert response.status_code == 200
    done = response.json()
    assert done["status"] == "error" and done["error"]["message"] == "rejected by alice: too risky"
    assert "After" not in done["run_data"] and done["run_data"]["Wait"][0]["status"] == "error"
    assert api.post(f"/api/executions/{body['id']}/approve/", {}, format="json").status_code == 409


def test_named_approvers_decide_and_others_do_not(api, other_api, staff_api, start, other):
    carol = User.objects.create_user("carol", password="x")
    ops = Group.objects.create(name="ops")
    carol.groups.add(ops)
    body = start(flow(wait_node(resume="approval", approvers=["bob", "group:ops"])))
    # The owner is not among the approvers.
    assert api.post(f"/api/executions/{body['id']}/approve/", {}, format="json").status_code == 403
    # A named approver sees the waiting execution and may decide, but not resume or stop it.
    assert other_api.get(f"/api/executions/{body['id']}/").status_code == 200
    assert other_api.post(f"/api/executions/{body['id']}/stop/").status_code == 403
    assert other_api.post(f"/api/executions/{body['id']}/resume/", {}, format="json").status_code == 403
    # Someone else sees nothing.
    dave = _client_for(User.objects.create_user("dave", password="x"))
    assert dave.get(f"/api/executions/{body['id']}/").status_code == 404
    assert dave.post(f"/api/executions/{body['id']}/approve/", {}, format="json").status_code == 404
    # A group member decides.
    response = _client_for(carol).post(f"/api/executions/{body['id']}/approve/", {"comment": "ok"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "success"
    # After the wait, the approver no longer sees the execution.
    assert other_api.get(f"/api/executions/{body['id']}/").status_code == 404
    assert staff_api.get(f"/api/executions/{body['id']}/").status_code == 200


def test_approve_permission_covers_approvals_without_a_list(start):
    body = start(flow(wait_node(resume="approval")))
    erin = User.objects.create_user("erin", password="x")
    erin.user_permissions.add(Permission.objects.get(codename="approve_pause"))
    erin = User.objects.get(pk=erin.pk)
    client = _client_for(erin)
    assert client.get("/api/executions/").json()["count"] == 1
    assert client.post(f"/api/executions/{body['id']}/approve/", {}, format="json").status_code == 200


def test_require_approval_pauses_before_the_node(api, start):
    guarded = make_node("Guarded", position=(200, 0), requireApproval={"message": "Run the guarded step?"})
    body = start(flow(guarded))
    assert body["status"] == "waiting" and body["waiting_node"] == "Guarded"
    assert body["pause"]["message"] == "Run the guarded step?"
    done = api.post(f"/api/executions/{body['id']}/approve/", {}, format="json").json()
    assert done["status"] == "success" and done["run_data"]["Guarded"][0]["status"] == "success"
    assert "approval" not in done["run_data"]["Guarded"][0]["data"]["main"][0][0]["json"]


@pytest.mark.parametrize(
    ("on_timeout", "status", "message"),
    [
        ("approve", "success", None),
        ("reject", "error", "rejected by timeout"),
        ("fail", "error", "The approval timed out"),
    ],
)
def test_approval_timeout(api, start, on_timeout, status, message):
    body = start(flow(wait_node(resume="approval", timeout=3600, onTimeout=on_timeout)))
    assert body["pause"]["expires_at"]
    make_due(body["id"])
    assert pauses_fire_due() == [body["id"]]
    done = detail(api, body["id"])
    assert done["status"] == status
    if message:
        assert done["error"]["message"] == message and "After" not in done["run_data"]
    else:
        assert done["run_data"]["After"][0]["data"]["main"][0][0]["json"]["approval"]["by"] == "timeout"


def test_limit_wait_time_passes_items_through(api, start):
    body = start(
        flow(wait_node(resume="webhook", limitWaitTime=True, resumeAmount=1, resumeUnit="minutes")), [{"kept": True}]
    )
    make_due(body["id"])
    pauses_fire_due()
    done = detail(api, body["id"])
    assert done["status"] == "success"
    assert done["run_data"]["After"][0]["data"]["main"][0][0]["json"] == {"kept": True}
    assert ExecutionPause.objects.get(execution_id=body["id"]).resume_trigger == "timeout"


def test_twenty_concurrent_resumes_exactly_one_wins(start, owner):
    body = start(flow(wait_node(resume="manual")))
    codes: list[int] = []
    barrier = threading.Barrier(20)

    def call() -> None:
        client = APIClient()
        client.force_authenticate(owner)
        barrier.wait()
        try:
            codes.append(
                client.post(f"/api/executions/{body['id']}/resume/", {"data": {"v": 1}}, format="json").status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] + [409] * 19
    assert NodeRun.objects.filter(execution_id=body["id"], node_name="After").count() == 1
    assert Execution.objects.get(pk=body["id"]).status == "success"


def test_several_waits_in_one_execution(api, start):
    body = start(flow(wait_node("First", 200, resume="manual"), wait_node("Second", 400, resume="manual")))
    assert body["waiting_node"] == "First"
    second = api.post(f"/api/executions/{body['id']}/resume/", {"data": {"step": 1}}, format="json").json()
    assert second["status"] == "waiting" and second["waiting_node"] == "Second"
    assert second["pause"]["sequence"] == 2
    done = api.post(f"/api/executions/{body['id']}/resume/", {"data": {"step": 2}}, format="json").json()
    assert done["status"] == "success"
    assert done["run_data"]["After"][0]["data"]["main"][0][0]["json"] == {"step": 2}
    assert list(
        ExecutionPause.objects.filter(execution_id=body["id"]).order_by("sequence").values_list("sequence", "status")
    ) == [(1, "resumed"), (2, "resumed")]


def test_stopping_a_waiting_execution_cancels_the_wait(live_server, api, start):
    body = start(flow(wait_node(resume="webhook", httpMethod="POST")))
    local = f"{live_server.url}/webhook-waiting/{body['resume_url'].split('/webhook-waiting/')[1]}"
    stopped = api.post(f"/api/executions/{body['id']}/stop/").json()
    assert stopped["status"] == "canceled"
    assert ExecutionPause.objects.get(execution_id=body["id"]).status == "canceled"
    assert httpx.post(local, json={}).status_code == 410
    assert api.post(f"/api/executions/{body['id']}/resume/", {}, format="json").status_code == 409


def test_corrupted_saved_state_fails_clearly(api, start):
    body = start(flow(wait_node(resume="manual")))
    execution = Execution.objects.get(pk=body["id"])
    execution.state = {**execution.state, "stack": []}
    execution.save(update_fields=["state"])
    response = api.post(f"/api/executions/{body['id']}/resume/", {}, format="json")
    assert response.status_code == 200
    done = detail(api, body["id"])
    assert done["status"] == "error" and "corrupted" in done["error"]["message"]


def test_large_items_survive_a_pause(api, start):
    items = [{"i": i, "blob": "x" * 1000} for i in range(5500)]  # ≈ 5.6 MB of items
    body = start(flow(wait_node(resume="manual")), items)
    state_size = len(str(Execution.objects.get(pk=body["id"]).state))
    assert state_size < 10_000  # the state refers to stored outputs instead of copying them
    done = api.post(f"/api/executions/{body['id']}/resume/", {}, format="json").json()
    out = done["run_data"]["After"][0]["data"]["main"][0]
    assert len(out) == 5500 and out[-1]["json"] == {"i": 5499, "blob": "x" * 1000}


def test_resume_url_is_known_to_expressions_before_the_wait(live_server, api, start):
    announce = make_node(
        "Announce",
        "set",
        3.4,
        (100, 0),
        parameters={
            "mode": "manual",
            "includeOtherFields": True,
            "assignments": {
                "assignments": [{"name": "link", "value": "={{ $execution.resumeUrl }}", "type": "string"}]
            },
        },
    )
    body = start(flow(announce, wait_node(resume="webhook", httpMethod="POST")))
    link = body["run_data"]["Announce"][0]["data"]["main"][0][0]["json"]["link"]
    assert link == body["resume_url"]
    local = f"{live_server.url}/webhook-waiting/{link.split('/webhook-waiting/')[1]}"
    assert httpx.post(local, json={"clicked": True}).status_code == 200
    assert detail(api, body["id"])["status"] == "success"


def test_binary_references_survive_a_pause(api, start):
    item = {
        "json": {"file": "report.pdf"},
        "binary": {"data": {"fileName": "report.pdf", "mimeType": "application/pdf", "id": "storage:abc123"}},
    }
    body = start(flow(wait_node(resume="manual")), [item])
    done = api.post(f"/api/executions/{body['id']}/resume/", {}, format="json").json()
    out = done["run_data"]["After"][0]["data"]["main"][0][0]
    assert out["binary"] == item["binary"] and out["json"] == item["json"]


def test_timer_continuation_over_budget_is_handed_to_the_workers(api, start):
    from executions.services.worker import execution_run

    body = start(flow(wait_node(resume="timeInterval", amount=1, unit="seconds"), make_node("Mid", position=(600, 0))))
    make_due(body["id"])
    handed: list[str] = []

    def dispatch(execution_id: int) -> None:
        # The timer's budget is spent before the first node: checkpoint, release, re-queue.
        handed.append(execution_run(execution_id=execution_id, budget_seconds=0.0))

    assert pauses_fire_due(dispatch=dispatch) == [body["id"]]
    assert handed == ["running"]
    done = detail(api, body["id"])
    assert done["status"] == "success"  # the re-queued run (inline here) finished it
    assert [len(done["run_data"][n]) for n in ("Wait", "Mid", "After")] == [1, 1, 1]
