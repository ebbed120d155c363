"""Error workflows (issue 9 part 4): a failed or crashed execution starts its error workflow, of
mode ``error``, from its ``errorTrigger`` with n8n's payload, linked by ``triggered_by``.

The runs execute inside the request (``inline_runs``), so these tests need a transactional database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution
from executions.services import errors as error_service
from executions.services.lifecycle import execution_claim
from executions.services.sweeper import sweep_expired_leases
from tests.conftest import chained, connect, make_node
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)


def failing(message: str = "Payment API said no", **settings: Any) -> dict[str, Any]:
    """Start → Prepare → Fail (stopAndError)."""
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node("Prepare", position=(200, 0)),
        make_node("Fail", "stopAndError", position=(400, 0), parameters={"errorMessage": message}),
    ]
    return {**chained(nodes), "settings": settings}


def handler(tail: dict[str, Any] | None = None, **settings: Any) -> dict[str, Any]:
    """An error workflow: On error (errorTrigger) → Notify (or ``tail``)."""
    nodes = [make_node("On error", "errorTrigger"), tail or make_node("Notify", position=(200, 0))]
    return {**chained(nodes), "settings": settings}


def run(api: APIClient, workflow_id: int, mode: str = "cli") -> dict[str, Any]:
    response = api.post(
        f"/api/workflows/{workflow_id}/execute/", {"mode": mode, "wait_till_completion": True}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def error_runs(failed_id: int) -> list[Execution]:
    return list(Execution.objects.filter(triggered_by_id=failed_id, mode="error"))


def trigger_payload(api: APIClient, execution_id: int) -> dict[str, Any]:
    body = api.get(f"/api/executions/{execution_id}/").json()
    items = body["run_data"]["On error"][0]["data"]["main"][0]
    assert len(items) == 1
    return items[0]["json"]


def test_failure_starts_the_error_workflow_with_n8ns_payload(api, other_api, create_workflow, inline_runs):
    target = create_workflow(handler(), name="Alerts")
    wf = create_workflow(failing(errorWorkflow=str(target["id"])), name="Billing")
    failed = run(api, wf["id"])
    assert failed["status"] == "error"
    assert failed["triggered_by"] is None

    [error_run] = error_runs(failed["id"])
    detail = api.get(f"/api/executions/{error_run.pk}/").json()
    assert detail["workflow"] == target["id"]
    assert detail["mode"] == "error"
    assert detail["status"] == "success"
    assert detail["triggered_by"] == failed["id"]
    assert detail["trigger_node"] == "On error"
    assert set(detail["run_data"]) == {"On error", "Notify"}

    payload = trigger_payload(api, error_run.pk)
    assert set(payload) == {"execution", "workflow"}
    execution = payload["execution"]
    assert set(execution) == {"id", "url", "error", "lastNodeExecuted", "mode", "retryOf"}
    assert execution["id"] == str(failed["id"])
    assert execution["url"] == f"{django_settings.BUDFLOW_PUBLIC_URL}/api/executions/{failed['id']}"
    assert execution["lastNodeExecuted"] == "Fail"
    assert execution["mode"] == "cli"
    assert execution["retryOf"] is None
    error = execution["error"]
    assert set(error) == {"message", "stack", "node"}
    assert error["message"] == "Payment API said no"
    assert error["stack"] == "StopAndError: Payment API said no"
    fail_node = next(n for n in wf["nodes"] if n["name"] == "Fail")
    assert error["node"] == fail_node
    assert error["node"]["type"] == "n8n-nodes-base.stopAndError"
    assert payload["workflow"] == {"id": str(wf["id"]), "name": "Billing"}
    # Notify received the payload unchanged.
    notify = api.get(f"/api/executions/{error_run.pk}/").json()["run_data"]["Notify"][0]
    assert notify["data"]["main"][0][0]["json"] == payload
    # The error execution belongs to the error workflow's owner: others get 404.
    assert other_api.get(f"/api/executions/{error_run.pk}/").status_code == 404


def test_success_starts_nothing(api, create_workflow, inline_runs):
    target = create_workflow(handler())
    nodes = [make_node("Start", "manualTrigger"), make_node("Fine", position=(200, 0))]
    wf = create_workflow({**chained(nodes), "settings": {"errorWorkflow": target["id"]}})
    assert run(api, wf["id"])["status"] == "success"
    assert not Execution.objects.filter(mode="error").exists()


def test_workflow_with_an_error_trigger_handles_its_own_failures(api, create_workflow, inline_runs):
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node("Fail", "stopAndError", position=(200, 0), parameters={"errorMessage": "broken"}),
        make_node("On error", "errorTrigger", position=(0, 300)),
        make_node("Report", position=(200, 300)),
    ]
    wf = create_workflow({"nodes": nodes, "connections": connect(("Start", "Fail"), ("On error", "Report"))})
    failed = run(api, wf["id"])
    assert failed["status"] == "error"
    assert set(failed["run_data"]) == {"Start", "Fail"}

    [error_run] = error_runs(failed["id"])
    assert error_run.workflow_id == wf["id"] and error_run.status == "success"
    detail = api.get(f"/api/executions/{error_run.pk}/").json()
    assert set(detail["run_data"]) == {"On error", "Report"}  # only the error branch runs
    payload = trigger_payload(api, error_run.pk)
    assert payload["workflow"] == {"id": str(wf["id"]), "name": "wf"}
    assert payload["execution"]["id"] == str(failed["id"])
    assert payload["execution"]["error"]["message"] == "broken"


def test_error_workflow_setting_wins_over_an_own_error_trigger(api, create_workflow, inline_runs):
    target = create_workflow(handler(), name="Alerts")
    definition = failing(errorWorkflow=target["id"])
    definition["nodes"].append(make_node("Own handler", "errorTrigger", position=(0, 300)))
    wf = create_workflow(definition)
    failed = run(api, wf["id"])
    assert [e.workflow_id for e in error_runs(failed["id"])] == [target["id"]]


def test_manual_runs_trigger_it_only_with_error_workflow_on_manual(api, create_workflow, inline_runs):
    target = create_workflow(handler())
    wf = create_workflow(failing(errorWorkflow=target["id"]))
    for mode in ("manual", "test"):
        failed = run(api, wf["id"], mode=mode)
        assert failed["status"] == "error"
        assert error_runs(failed["id"]) == []
    assert not Execution.objects.filter(workflow_id=target["id"]).exists()

    response = api.patch(
        f"/api/workflows/{wf['id']}/",
        {"settings": {"errorWorkflow": target["id"], "errorWorkflowOnManual": True}},
        format="json",
    )
    assert response.status_code == 200, response.content
    failed = run(api, wf["id"], mode="manual")
    [error_run] = error_runs(failed["id"])
    assert error_run.status == "success"
    assert trigger_payload(api, error_run.pk)["execution"]["mode"] == "manual"


def test_a_failing_error_workflow_never_triggers_an_error_workflow(api, create_workflow, inline_runs):
    elsewhere = create_workflow(handler(), name="Would loop")
    # The error workflow fails, handles its own failures and names another error workflow too.
    broken_nodes = [
        make_node("On error", "errorTrigger"),
        make_node("Also fail", "stopAndError", position=(200, 0), parameters={"errorMessage": "handler broke"}),
    ]
    broken = create_workflow(
        {**chained(broken_nodes), "settings": {"errorWorkflow": elsewhere["id"]}}, name="Broken handler"
    )
    wf = create_workflow(failing(errorWorkflow=broken["id"]))
    failed = run(api, wf["id"])

    [error_run] = error_runs(failed["id"])
    error_run.refresh_from_db()
    assert error_run.workflow_id == broken["id"]
    assert error_run.status == "error" and error_run.error["message"] == "handler broke"
    assert error_runs(error_run.pk) == []
    assert not Execution.objects.filter(workflow_id=elsewhere["id"]).exists()
    assert Execution.objects.count() == 2


def test_error_workflow_naming_itself_runs_once(api, create_workflow, inline_runs):
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node("Fail", "stopAndError", position=(200, 0), parameters={"errorMessage": "first"}),
        make_node("On error", "errorTrigger", position=(0, 300)),
        make_node("Fail again", "stopAndError", position=(200, 300), parameters={"errorMessage": "second"}),
    ]
    wf = create_workflow({"nodes": nodes, "connections": connect(("Start", "Fail"), ("On error", "Fail again"))})
    response = api.patch(f"/api/workflows/{wf['id']}/", {"settings": {"errorWorkflow": wf["id"]}}, format="json")
    assert response.status_code == 200, response.content
    failed = run(api, wf["id"])
    executions = list(Execution.objects.filter(workflow_id=wf["id"]).order_by("id"))
    assert [(e.mode, e.status) for e in executions] == [("cli", "error"), ("error", "error")]
    assert executions[1].triggered_by_id == failed["id"]


def test_crashed_execution_triggers_the_error_workflow(api, create_workflow, settings):
    target = create_workflow(handler())
    wf = create_workflow(failing(errorWorkflow=target["id"]))
    # Queued, not run: a worker claims it and dies; its lease runs out.
    response = api.post(f"/api/workflows/{wf['id']}/execute/", {"mode": "cli"}, format="json")
    execution_id = response.json()["id"]
    assert execution_claim(execution_id=execution_id, worker_id="dead-worker") is not None
    Execution.objects.filter(pk=execution_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    settings.BUDFLOW = {**settings.BUDFLOW, "MAX_RECOVERIES": 0, "RUN_INLINE": True}

    assert sweep_expired_leases() == []
    assert Execution.objects.get(pk=execution_id).status == "crashed"
    [error_run] = error_runs(execution_id)
    assert error_run.status == "success" and error_run.workflow_id == target["id"]
    payload = trigger_payload(api, error_run.pk)
    assert payload["execution"] == {
        "id": str(execution_id),
        "url": f"{django_settings.BUDFLOW_PUBLIC_URL}/api/executions/{execution_id}",
        "error": {
            "message": "The worker running this execution stopped 1 times",
            "stack": "WorkerCrashed: The worker running this execution stopped 1 times",
            "node": None,
        },
        "lastNodeExecuted": None,
        "mode": "cli",
        "retryOf": None,
    }


def test_rejected_approval_triggers_the_error_workflow(api, create_workflow, inline_runs):
    target = create_workflow(handler())
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node("Approve", "wait", 1.1, (200, 0), parameters={"resume": "approval"}, webhookId="wh-approve"),
    ]
    wf = create_workflow({**chained(nodes), "settings": {"errorWorkflow": target["id"]}})
    waiting = run(api, wf["id"])
    assert waiting["status"] == "waiting" and error_runs(waiting["id"]) == []
    response = api.post(f"/api/executions/{waiting['id']}/reject/", {"comment": "no"}, format="json")
    assert response.status_code == 200, response.content
    [error_run] = error_runs(waiting["id"])
    payload = trigger_payload(api, error_run.pk)
    assert payload["execution"]["error"]["message"] == "rejected by alice: no"
    assert payload["execution"]["error"]["node"]["name"] == "Approve"


def test_webhook_execution_failing_triggers_the_error_workflow(api, client, create_workflow, inline_runs):
    target = create_workflow(handler())
    hook = make_node(
        "Webhook",
        "webhook",
        2.1,
        parameters={"httpMethod": "POST", "path": "orders", "responseMode": "onReceived", "options": {}},
        webhookId="id-orders",
    )
    fail = make_node("Fail", "stopAndError", position=(200, 0), parameters={"errorMessage": "bad order"})
    wf = create_workflow({**chained([hook, fail]), "settings": {"errorWorkflow": target["id"]}})
    assert api.post(f"/api/workflows/{wf['id']}/activate/").status_code == 200
    assert client.post("/webhook/orders", {"id": 7}, content_type="application/json").status_code == 200
    failed = Execution.objects.get(workflow_id=wf["id"])
    assert failed.mode == "webhook" and failed.status == "error"
    [error_run] = error_runs(failed.pk)
    assert trigger_payload(api, error_run.pk)["execution"]["mode"] == "webhook"


def test_error_workflow_problems_never_reach_the_failed_run(api, create_workflow, inline_runs, monkeypatch):
    target = create_workflow(handler())
    wf = create_workflow(failing(errorWorkflow=target["id"]))

    def broken(failed: Execution) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(error_service, "error_payload", broken)
    failed = run(api, wf["id"])
    assert failed["status"] == "error" and failed["error"]["message"] == "Payment API said no"
    assert not Execution.objects.filter(mode="error").exists()


def test_error_workflow_without_error_trigger_or_deleted_starts_nothing(api, create_workflow, inline_runs):
    no_trigger = create_workflow()  # a manual-trigger workflow
    wf = create_workflow(failing(errorWorkflow=no_trigger["id"]))
    failed = run(api, wf["id"])
    assert failed["status"] == "error" and error_runs(failed["id"]) == []

    target = create_workflow(handler())
    api.patch(f"/api/workflows/{wf['id']}/", {"settings": {"errorWorkflow": target["id"]}}, format="json")
    assert api.delete(f"/api/workflows/{target['id']}/").status_code == 204
    failed = run(api, wf["id"])
    assert failed["status"] == "error" and not Execution.objects.filter(mode="error").exists()


def test_firing_twice_for_one_failure_starts_one_error_execution(api, create_workflow, inline_runs):
    target = create_workflow(handler())
    wf = create_workflow(failing(errorWorkflow=target["id"]))
    failed = Execution.objects.get(pk=run(api, wf["id"])["id"])
    assert len(error_runs(failed.pk)) == 1
    assert error_service.error_workflow_fire(execution=failed) is None
    assert len(error_runs(failed.pk)) == 1


@pytest.mark.parametrize(
    ("value", "why"),
    [("999999", "missing"), ("other", "another user's"), (True, "wrong type"), ("  ", "blank")],
)
def test_invalid_error_workflow_is_refused_naming_the_field(api, other, create_workflow, value, why):
    if value == "other":
        from workflows.services import workflow_create

        value = workflow_create(owner=other, name="Bob's", nodes=handler()["nodes"]).pk
    before = Workflow.objects.count()
    response = api.post("/api/workflows/", {"name": "wf", **failing(errorWorkflow=value)}, format="json")
    assert response.status_code == 400, why
    assert "settings.errorWorkflow" in response.json(), response.json()
    assert Workflow.objects.count() == before

    wf = create_workflow(failing())
    response = api.patch(f"/api/workflows/{wf['id']}/", {"settings": {"errorWorkflow": value}}, format="json")
    assert response.status_code == 400 and "settings.errorWorkflow" in response.json(), why
    assert api.get(f"/api/workflows/{wf['id']}/").json()["settings"] == {}


def test_valid_error_workflow_references(api, staff_api, owner, create_workflow):
    target = create_workflow(handler())
    imported = api.post("/api/workflows/import/", {**handler(), "name": "From n8n", "id": "n8nAbC123"}, format="json")
    assert imported.status_code == 201, imported.content
    for value in (target["id"], str(target["id"]), "n8nAbC123"):
        response = api.post("/api/workflows/", {"name": "wf", **failing(errorWorkflow=value)}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["settings"]["errorWorkflow"] == value
    # Staff may name any user's workflow.
    response = staff_api.post("/api/workflows/", {"name": "wf", **failing(errorWorkflow=target["id"])}, format="json")
    assert response.status_code == 201, response.content


def test_error_trigger_run_by_hand_emits_an_example_payload(api, create_workflow, inline_runs):
    wf = create_workflow(handler())
    body = run(api, wf["id"], mode="manual")
    assert body["status"] == "success"
    payload = body["run_data"]["On error"][0]["data"]["main"][0][0]["json"]
    assert set(payload) == {"execution", "workflow"}
    assert payload["execution"]["error"]["message"] == "Example Error Message"
    given = {"execution": {"id": "1"}, "workflow": {"id": "2", "name": "x"}}
    response = api.post(
        f"/api/workflows/{wf['id']}/execute/", {"input_data": [given], "wait_till_completion": True}, format="json"
    )
    assert response.json()["run_data"]["On error"][0]["data"]["main"][0][0]["json"] == given


def test_admin_links_the_failure_and_its_error_execution(client, api, create_workflow, inline_runs):
    User.objects.create_superuser("root", "root@example.com", "root-password")
    assert client.login(username="root", password="root-password")
    target = create_workflow(handler())
    wf = create_workflow(failing(errorWorkflow=target["id"]))
    failed = run(api, wf["id"])
    [error_run] = error_runs(failed["id"])

    page = client.get(f"/admin/executions/execution/{failed['id']}/change/").content.decode()
    assert f'href="/admin/executions/execution/{error_run.pk}/change/">error execution #{error_run.pk}</a>' in page
    page = client.get(f"/admin/executions/execution/{error_run.pk}/change/").content.decode()
    assert f'href="/admin/executions/execution/{failed["id"]}/change/">execution #{failed["id"]}</a>' in page


def test_sub_workflow_failing_under_an_error_workflow_starts_nothing(api, create_workflow, inline_runs):
    never = create_workflow(handler(), name="Never")
    child_nodes = [
        make_node("Called", "executeWorkflowTrigger", 1.1, parameters={"inputSource": "passthrough"}),
        make_node("Child fails", "stopAndError", position=(200, 0), parameters={"errorMessage": "child broke"}),
    ]
    child = create_workflow({**chained(child_nodes), "settings": {"errorWorkflow": never["id"]}}, name="Child")
    call = make_node(
        "Call child",
        "executeWorkflow",
        1.2,
        position=(200, 0),
        parameters={"source": "database", "workflowId": str(child["id"]), "mode": "once", "options": {}},
    )
    handler_wf = create_workflow(handler(tail=call), name="Calls a child")
    wf = create_workflow(failing(errorWorkflow=handler_wf["id"]))
    failed = run(api, wf["id"])

    [error_run] = error_runs(failed["id"])
    error_run.refresh_from_db()
    assert error_run.status == "error"
    child_run = Execution.objects.get(workflow_id=child["id"])
    assert (child_run.mode, child_run.status, child_run.root_mode) == ("integrated", "error", "error")
    assert not Execution.objects.filter(workflow_id=never["id"]).exists()
    assert Execution.objects.count() == 3
