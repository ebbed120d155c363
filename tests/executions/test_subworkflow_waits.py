"""Sub-workflows that wait (issue 8, part 6): the parent waits with them, resumes when they end,
gets their errors, and stops them when it is stopped.

Runs are inline (``inline_runs``): a resume through the API runs the child in the request, and
the child's end resumes and runs the parent there too, as a worker would.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.utils import timezone

from executions.models import Execution, ExecutionEvent, ExecutionPause, SubWorkflowExecution
from executions.services import subworkflow_waits
from executions.services.pauses import pauses_fire_due
from executions.services.subworkflow_waits import subworkflows_settle_stale
from tests.conftest import chained, connect, make_node
from tests.executions import test_subworkflows as base
from tests.executions.test_subworkflows import SlowServer, call, children, entry, fail, output, parent_of, set_field

pytestmark = pytest.mark.django_db(transaction=True)

# The fixtures that build workflows (``make``) and run them inline through the API (``run``).
make = base.make
run = base.run

Definition = dict[str, Any]


def wait(name: str = "Wait", x: int = 200, **parameters: Any) -> Definition:
    return make_node(name, "wait", 1.1, (x, 0), parameters={"resume": "manual", **parameters}, webhookId=f"w-{name}")


def waiting_child(*after: Definition) -> Definition:
    """In → Wait (manual resume) → ``after`` (default: Tag, which sets ``tag``)."""
    return chained([entry(inputSource="passthrough"), wait(), *(after or [set_field("Tag", "tag", "done", 400)])])


def is_two(x: int = 400) -> Definition:
    return make_node(
        "Is two",
        "if",
        2.2,
        (x, 0),
        parameters={
            "conditions": {
                "conditions": [
                    {
                        "leftValue": "={{ $json.n }}",
                        "rightValue": 2,
                        "operator": {"type": "number", "operation": "equals"},
                    }
                ],
                "combinator": "and",
            }
        },
    )


def detail(api: Any, execution_id: int) -> dict[str, Any]:
    response = api.get(f"/api/executions/{execution_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def resume(api: Any, execution_id: int, data: Any = None) -> Any:
    return api.post(
        f"/api/executions/{execution_id}/resume/", {"data": data} if data is not None else {}, format="json"
    )


def with_after(*nodes: Definition) -> Definition:
    return parent_of(*nodes, make_node("After", position=(600, 0)))


def record_of(child: Execution) -> SubWorkflowExecution:
    return SubWorkflowExecution.objects.get(child_execution=child)


# -- a child that waits, resumed by the API ---------------------------------------------------------
def test_a_waiting_child_resumed_by_api_then_the_parent_finishes(make, run, api) -> None:
    child_id = make(waiting_child(), name="child")
    body = run(make(with_after(call(child_id))), [{"n": 1}])

    assert body["status"] == "waiting", body["error"]
    assert body["waiting_node"] == "Call" and body["pause"]["type"] == "subworkflow"
    [child] = children(body["id"])
    assert body["pause"]["message"] == f"Waiting for sub-workflow execution {child.pk}"
    assert body["run_data"]["Call"][0]["status"] == "waiting" and "After" not in body["run_data"]
    assert child.status == "waiting" and record_of(child).status == "waiting"
    # The parent waits for its child, not for a person: it cannot be resumed itself.
    refused = resume(api, body["id"], {"x": 1})
    assert refused.status_code == 409 and str(child.pk) in refused.json()["detail"]

    assert resume(api, child.pk, {"answer": 42}).status_code == 200

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    assert output(done) == [{"answer": 42, "tag": "done"}]
    assert done["run_data"]["After"][0]["data"]["main"][0][0]["json"] == {"answer": 42, "tag": "done"}
    assert len(done["run_data"]["Call"]) == 1 and done["run_data"]["Call"][0]["status"] == "success"
    assert done["run_data"]["Call"][0]["metadata"]["sub_executions"] == [
        {"executionId": str(child.pk), "workflowId": str(child_id), "status": "success"}
    ]
    record = record_of(child)
    assert record.status == "success" and record.completed_at is not None
    assert [i["json"] for i in record.output_data] == [{"answer": 42, "tag": "done"}]
    pause = ExecutionPause.objects.get(execution_id=body["id"])
    assert (pause.status, pause.resume_trigger, pause.resume_data) == (
        "resumed",
        "subworkflow",
        {"children": {str(child.pk): "success"}},
    )
    types = list(ExecutionEvent.objects.filter(execution_id=body["id"]).values_list("type", flat=True))
    assert types.index("execution_waiting") < types.index("execution_resumed") < types.index("execution_finished")


def test_a_child_resumed_by_its_timer_resumes_the_parent(make, run, api) -> None:
    timed = wait(resume="timeInterval", amount=30, unit="seconds")
    child_id = make(chained([entry(inputSource="passthrough"), timed, set_field("Tag", "tag", "on time", 400)]))
    body = run(make(parent_of(call(child_id))), [{"n": 7}])
    [child] = children(body["id"])
    assert (body["status"], child.status) == ("waiting", "waiting")
    assert pauses_fire_due() == []  # neither wait is due: the parent's has no due time at all
    ExecutionPause.objects.filter(execution=child).update(due_at=timezone.now())

    assert pauses_fire_due() == [child.pk]

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    assert output(done) == [{"n": 7, "tag": "on time"}]


def test_a_child_resumed_by_its_webhook_resumes_the_parent(make, run, api, anon_api) -> None:
    hook = wait(resume="webhook", httpMethod="POST")
    child_id = make(chained([entry(inputSource="passthrough"), hook, set_field("Tag", "tag", "called", 400)]))
    body = run(make(parent_of(call(child_id))), [{"n": 7}])
    [child] = children(body["id"])
    url = detail(api, child.pk)["resume_url"]

    called = anon_api.post("/webhook-waiting/" + url.split("/webhook-waiting/")[1], {"k": "v"}, format="json")

    assert called.status_code == 200, called.content
    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    [item] = output(done)
    assert (item["body"], item["tag"]) == ({"k": "v"}, "called")


def test_each_mode_some_children_finish_and_one_waits(make, run, api) -> None:
    mark = lambda name, value, y: make_node(  # noqa: E731
        name,
        "set",
        3.4,
        (800, y),
        parameters={
            "mode": "manual",
            "includeOtherFields": True,
            "assignments": {"assignments": [{"id": "m", "name": "mark", "value": value, "type": "string"}]},
        },
    )
    child = {
        "nodes": [
            entry(inputSource="passthrough"),
            is_two(200),
            wait(x=400),
            mark("Waited", "waited", 0),
            mark("Direct", "direct", 200),
        ],
        "connections": connect(("In", "Is two"), ("Is two", "Wait", 0), ("Wait", "Waited"), ("Is two", "Direct", 1)),
    }
    body = run(make(parent_of(call(make(child), mode="each"))), [{"n": 1}, {"n": 2}, {"n": 3}])

    assert body["status"] == "waiting", body["error"]
    kids = children(body["id"])
    assert [k.status for k in kids] == ["success", "waiting", "success"]
    assert [record_of(k).status for k in kids] == ["success", "waiting", "success"]
    assert body["pause"]["message"] == f"Waiting for sub-workflow execution {kids[1].pk}"

    assert resume(api, kids[1].pk).status_code == 200  # no data: the items pass through

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    assert output(done) == [{"n": 1, "mark": "direct"}, {"n": 2, "mark": "waited"}, {"n": 3, "mark": "direct"}]
    items = done["run_data"]["Call"][0]["data"]["main"][0]
    assert [i["pairedItem"] for i in items] == [{"item": 0}, {"item": 1}, {"item": 2}]


# -- a child's error after its resume ---------------------------------------------------------------
def test_a_child_error_after_resume_stops_the_parent(make, run, api) -> None:
    child_id = make(waiting_child(fail("refused after the wait")), name="child")
    body = run(make(with_after(call(child_id))), [{"n": 1}])
    [child] = children(body["id"])

    assert resume(api, child.pk, {"go": True}).status_code == 200

    done = detail(api, body["id"])
    assert Execution.objects.get(pk=child.pk).status == "error"
    assert done["status"] == "error"
    assert (
        done["error"]["message"] == f"Sub-workflow execution {child.pk} failed at node 'Fail': refused after the wait"
    )
    assert done["error"]["type"] == "StopAndError" and done["error"]["executionId"] == str(child.pk)
    assert done["run_data"]["Call"][0]["status"] == "error" and "After" not in done["run_data"]
    record = record_of(child)
    assert record.status == "error" and record.error_details["message"] == "refused after the wait"


def test_a_child_error_after_resume_becomes_an_error_item(make, run, api) -> None:
    child_id = make(waiting_child(fail("refused after the wait")), name="child")
    body = run(make(with_after(call(child_id, onSubWorkflowError="continueWithError"))), [{"n": 1}])
    [child] = children(body["id"])

    assert resume(api, child.pk, {"go": True}).status_code == 200

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    error_item = {
        "error": "refused after the wait",
        "errorType": "StopAndError",
        "executionId": str(child.pk),
        "input": {"n": 1},
        "success": False,
    }
    assert output(done) == [error_item]
    assert done["run_data"]["After"][0]["data"]["main"][0][0]["json"] == error_item


def test_a_rejected_approval_in_the_child_reaches_the_parent(make, run, api) -> None:
    approval = make_node("Approve", "wait", 1.1, (200, 0), parameters={"resume": "approval"}, webhookId="w-a")
    child_id = make(chained([entry(inputSource="passthrough"), approval]), name="child")
    body = run(make(parent_of(call(child_id, onSubWorkflowError="continueWithError"))), [{"n": 1}])
    [child] = children(body["id"])
    assert body["status"] == "waiting"

    assert api.post(f"/api/executions/{child.pk}/reject/", {"comment": "no"}, format="json").status_code == 200

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    [item] = output(done)
    assert (item["error"], item["errorType"], item["executionId"]) == (
        "rejected by alice: no",
        "ApprovalRejected",
        str(child.pk),
    )


def test_stop_parent_does_not_wait_for_the_other_children_once_one_fails(make, run, api) -> None:
    child = {
        "nodes": [entry(inputSource="passthrough"), wait(), is_two(400), fail("two after the wait", 600)],
        "connections": connect(("In", "Wait"), ("Wait", "Is two"), ("Is two", "Fail", 0)),
    }
    body = run(make(parent_of(call(make(child), mode="each"))), [{"n": 1}, {"n": 2}])
    first, second = children(body["id"])
    assert (body["status"], first.status, second.status) == ("waiting", "waiting", "waiting")

    assert resume(api, second.pk, {"n": 2}).status_code == 200

    done = detail(api, body["id"])
    assert done["status"] == "error"
    assert done["error"]["message"] == f"Sub-workflow execution {second.pk} failed at node 'Fail': two after the wait"
    first.refresh_from_db()
    assert first.status == "canceled"  # nobody would collect what it returns
    assert record_of(first).status == "canceled"
    assert record_of(first).error_details["message"] == "Canceled: another sub-workflow call of node 'Call' failed"


def test_a_call_timeout_ends_the_wait_for_a_waiting_child(make, run, api) -> None:
    child_id = make(waiting_child(), name="child")
    body = run(make(parent_of(call(child_id, timeout=60, onSubWorkflowError="continueWithError"))), [{"n": 1}])
    [child] = children(body["id"])
    pause = ExecutionPause.objects.get(execution_id=body["id"])
    started = record_of(child).started_at
    assert abs((pause.due_at - started).total_seconds() - 60) < 0.01
    # A minute later: the call's deadline and the parent's due time have passed.
    calls = pause.metadata["calls"]
    calls[0]["deadline"] -= 61
    ExecutionPause.objects.filter(pk=pause.pk).update(
        metadata={**pause.metadata, "calls": calls}, due_at=timezone.now()
    )

    assert pauses_fire_due() == [body["id"]]

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    [item] = output(done)
    assert item["errorType"] == "SubWorkflowTimeoutError"
    assert item["error"] == f"Sub-workflow execution {child.pk} timed out after 60 s"
    child.refresh_from_db()
    assert child.status == "canceled"
    assert record_of(child).status == "error"
    assert resume(api, child.pk, {}).status_code == 409


# -- stopping ---------------------------------------------------------------------------------------
def test_stopping_a_waiting_parent_cancels_its_waiting_child(make, run, api, other_api) -> None:
    child_id = make(waiting_child(), name="child")
    body = run(make(parent_of(call(child_id))), [{"n": 1}])
    [child] = children(body["id"])
    assert other_api.post(f"/api/executions/{body['id']}/stop/").status_code == 404

    stopped = api.post(f"/api/executions/{body['id']}/stop/")

    assert stopped.status_code == 200 and stopped.json()["status"] == "canceled"
    child.refresh_from_db()
    assert child.status == "canceled"
    assert child.error == {"message": f"Its parent execution {body['id']} was canceled", "type": "ExecutionCanceled"}
    assert ExecutionPause.objects.get(execution=child).status == "canceled"
    assert ExecutionPause.objects.get(execution_id=body["id"]).status == "canceled"
    record = record_of(child)
    assert record.status == "canceled" and record.completed_at is not None
    assert resume(api, child.pk, {}).status_code == 409
    assert detail(api, body["id"])["status"] == "canceled"  # nothing resumed it meanwhile


def test_stopping_a_running_parent_cancels_the_child_it_runs(make, api) -> None:
    """The parent's worker runs the child in place; a stop reaches both, and both end canceled."""
    from executions.services import execution_create
    from executions.services.worker import execution_run
    from workflows.models import Workflow

    server = SlowServer(0.5)
    try:
        slow = [
            make_node(f"Slow {i}", "httpRequest", 4.2, (200 * i, 0), parameters={"url": server.url}) for i in (1, 2, 3)
        ]
        child_id = make(chained([entry(inputSource="passthrough"), *slow]), name="child")
        parent_id = make(with_after(call(child_id)), name="parent")
        execution = execution_create(workflow=Workflow.objects.get(pk=parent_id), user=None, defer_enqueue=True)
        outcome: list[str] = []
        worker = threading.Thread(target=lambda: outcome.append(execution_run(execution_id=execution.pk)))
        worker.start()
        deadline = time.monotonic() + 10
        while not Execution.objects.filter(parent_execution_id=execution.pk, status="running").exists():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.02)

        assert api.post(f"/api/executions/{execution.pk}/stop/").status_code == 200
        worker.join(timeout=20)
    finally:
        server.close()
    assert outcome == ["canceled"]
    [child] = children(execution.pk)
    assert child.status == "canceled"
    assert record_of(child).status == "canceled"
    body = detail(api, execution.pk)
    assert "After" not in body["run_data"]


# -- three levels -----------------------------------------------------------------------------------
def three_levels(build: Any) -> int:
    leaf = build(waiting_child(set_field("Leaf", "leaf", "={{ $depth }}", 400)), name="leaf")
    middle = build(
        chained([entry(inputSource="passthrough"), call(leaf, name="Call leaf"), set_field("Mid", "mid", "yes", 400)]),
        name="middle",
    )
    return build(parent_of(call(middle, name="Call middle")), name="top")


def test_nested_three_levels_with_the_deepest_waiting(make, run, api) -> None:
    body = run(three_levels(make), [{"n": 1}])

    assert body["status"] == "waiting" and body["waiting_node"] == "Call middle"
    [middle] = children(body["id"])
    [leaf] = children(middle.pk)
    assert (middle.status, leaf.status) == ("waiting", "waiting")
    assert (middle.execution_depth, leaf.execution_depth) == (1, 2)
    assert ExecutionPause.objects.get(execution=middle).pause_type == "subworkflow"

    assert resume(api, leaf.pk, {"n": 2}).status_code == 200

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    assert output(done, "Call middle") == [{"n": 2, "leaf": "2", "mid": "yes"}]
    assert [e.status for e in Execution.objects.filter(pk__in=[middle.pk, leaf.pk]).order_by("pk")] == [
        "success",
        "success",
    ]
    assert [record_of(e).status for e in (middle, leaf)] == ["success", "success"]


def test_stopping_the_top_of_three_levels_cancels_every_level(make, run, api) -> None:
    body = run(three_levels(make), [{"n": 1}])
    [middle] = children(body["id"])
    [leaf] = children(middle.pk)

    assert api.post(f"/api/executions/{body['id']}/stop/").status_code == 200

    statuses = {e.pk: e.status for e in Execution.objects.filter(pk__in=[body["id"], middle.pk, leaf.pk])}
    assert statuses == {body["id"]: "canceled", middle.pk: "canceled", leaf.pk: "canceled"}
    assert [record_of(e).status for e in (middle, leaf)] == ["canceled", "canceled"]


# -- durability -------------------------------------------------------------------------------------
def test_the_timer_sweep_resumes_a_parent_whose_settling_was_lost(make, run, api, monkeypatch) -> None:
    """A process that dies between a child's end and its parent's settling leaves it to the sweep."""
    child_id = make(waiting_child(), name="child")
    body = run(make(parent_of(call(child_id))), [{"n": 1}])
    [child] = children(body["id"])
    with monkeypatch.context() as patch:
        patch.setattr(subworkflow_waits, "_child_ended", lambda child_id, parent_id: None)
        assert resume(api, child.pk, {"late": True}).status_code == 200
    assert Execution.objects.get(pk=child.pk).status == "success"
    assert detail(api, body["id"])["status"] == "waiting"
    assert record_of(child).status == "waiting"

    assert subworkflows_settle_stale() == [body["id"]]

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    assert output(done) == [{"late": True, "tag": "done"}]
    assert subworkflows_settle_stale() == []


# -- with the node's own settings ---------------------------------------------------------------------
def test_an_approval_before_the_call_then_the_children_run(make, run, api) -> None:
    child_id = make(base.doubler(), name="child")
    gated = {**call(child_id), "requireApproval": True}
    body = run(make(parent_of(gated)), [{"n": 4}])
    assert body["status"] == "waiting" and body["pause"]["type"] == "approval"
    assert children(body["id"]) == []

    assert api.post(f"/api/executions/{body['id']}/approve/", {}, format="json").status_code == 200

    done = detail(api, body["id"])
    assert done["status"] == "success", done["error"]
    assert output(done) == [{"n": 4, "double": "8", "tag": "child"}]
    assert len(children(body["id"])) == 1


def test_a_retried_call_after_a_resumed_failure_calls_the_child_again(make, run, api) -> None:
    child_id = make(waiting_child(fail("refused after the wait")), name="child")
    retried = {**call(child_id), "retryOnFail": True, "maxTries": 2, "waitBetweenTries": 0}
    body = run(make(parent_of(retried)), [{"n": 1}])
    [first] = children(body["id"])

    assert resume(api, first.pk, {}).status_code == 200

    again = detail(api, body["id"])
    assert again["status"] == "waiting", again["error"]  # the second try's child waits in turn
    first_child, second_child = children(body["id"])
    assert (first_child.status, second_child.status) == ("error", "waiting")
    assert again["pause"]["message"] == f"Waiting for sub-workflow execution {second_child.pk}"
