"""Stopping an execution (issue 10, part 4): new, running and waiting ones end ``canceled``; a
running HTTP call is aborted within a second; a stop whose worker died still ends ``canceled``."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from executions.models import Execution, ExecutionEvent, ExecutionPause, NodeRun
from executions.services import execution_create
from executions.services.sweeper import sweep_expired_leases
from executions.services.worker import execution_run
from tests.conftest import Reply, chained, make_node
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)


def slow_http_workflow(url: str) -> dict[str, Any]:
    return chained(
        [
            make_node("Start", "manualTrigger"),
            make_node("Call", "httpRequest", 4.2, (200, 0), parameters={"url": url}),
            make_node("After", position=(400, 0)),
        ]
    )


def run_in_thread(execution_id: int) -> tuple[threading.Thread, list[str]]:
    outcome: list[str] = []

    def target() -> None:
        try:
            outcome.append(execution_run(execution_id=execution_id))
        finally:
            connection.close()

    worker = threading.Thread(target=target)
    worker.start()
    return worker, outcome


def wait_for(check: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_stop_of_a_running_http_node_ends_canceled_within_one_second(api, create_workflow, json_server) -> None:
    base, calls = json_server(lambda path: Reply({"late": True}, delay=10))
    wf = create_workflow(slow_http_workflow(f"{base}/slow"))
    execution = execution_create(workflow=Workflow.objects.get(pk=wf["id"]), user=None, defer_enqueue=True)
    worker, outcome = run_in_thread(execution.pk)
    try:
        wait_for(lambda: len(calls) == 1, what="the HTTP call to arrive")
        time.sleep(0.3)  # well inside the call (and past a heartbeat poll)
        stop_at = time.monotonic()
        response = api.post(f"/api/executions/{execution.pk}/stop/")
        assert response.status_code == 200, response.content
        wait_for(
            lambda: Execution.objects.filter(pk=execution.pk, status="canceled").exists(),
            timeout=5,
            what="canceled",
        )
        latency = time.monotonic() - stop_at
    finally:
        worker.join(timeout=15)
    assert latency < 1.0, f"the stop took {latency:.3f} s"
    assert outcome == ["canceled"]
    row = Execution.objects.get(pk=execution.pk)
    assert row.error["type"] == "ExecutionCanceled"
    assert row.stopped_at is not None and row.lease_owner == ""
    # The node in flight is recorded canceled; nothing after it ran.
    [call] = NodeRun.objects.filter(execution=row, node_name="Call")
    assert call.status == "canceled"
    assert call.error["type"] == "ExecutionCanceled"
    assert not NodeRun.objects.filter(execution=row, node_name="After").exists()
    # The saved state still has the interrupted node to run (a retry continues there).
    assert [task["node"] for task in row.state["stack"]] == ["Call"]
    finished = ExecutionEvent.objects.filter(execution=row, type="execution_finished").get()
    assert finished.data["status"] == "canceled"
    print(f"\nstop latency: {latency * 1000:.0f} ms")


def test_stop_of_a_new_execution_cancels_it_at_once(api, other_api, create_workflow) -> None:
    wf = create_workflow()
    execution = execution_create(workflow=Workflow.objects.get(pk=wf["id"]), user=None, defer_enqueue=True)
    assert other_api.post(f"/api/executions/{execution.pk}/stop/").status_code == 404
    body = api.post(f"/api/executions/{execution.pk}/stop/").json()
    assert body["status"] == "canceled"
    assert body["error"]["type"] == "ExecutionCanceled"
    # A worker that picks its task up afterwards does nothing.
    assert execution_run(execution_id=execution.pk) == "canceled"
    assert not NodeRun.objects.filter(execution_id=execution.pk).exists()


def test_stop_of_a_waiting_execution_cancels_it_and_its_wait(api, create_workflow, inline_runs) -> None:
    wf = create_workflow(
        chained(
            [
                make_node("Start", "manualTrigger"),
                make_node("Wait", "wait", 1.1, (200, 0), parameters={"resume": "manual"}),
                make_node("After", position=(400, 0)),
            ]
        )
    )
    created = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()
    assert Execution.objects.get(pk=created["id"]).status == "waiting"
    body = api.post(f"/api/executions/{created['id']}/stop/").json()
    assert body["status"] == "canceled"
    assert ExecutionPause.objects.get(execution_id=created["id"]).status == "canceled"
    assert api.post(f"/api/executions/{created['id']}/resume/", {}, format="json").status_code == 409


def test_a_finished_execution_cannot_be_stopped(api, create_workflow, inline_runs) -> None:
    wf = create_workflow()
    created = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()
    assert Execution.objects.get(pk=created["id"]).status == "success"
    response = api.post(f"/api/executions/{created['id']}/stop/")
    assert response.status_code == 409
    assert Execution.objects.get(pk=created["id"]).status == "success"


def test_a_stop_whose_worker_died_ends_canceled_through_the_sweeper(api, create_workflow) -> None:
    """The worker holding the lease never reads the stop (it died): the sweeper ends the run
    ``canceled`` once the lease expires, instead of recovering it or calling it crashed."""
    wf = create_workflow()
    execution = execution_create(workflow=Workflow.objects.get(pk=wf["id"]), user=None, defer_enqueue=True)
    now = timezone.now()
    Execution.objects.filter(pk=execution.pk).update(
        status="running", started_at=now, lease_owner="dead-worker", lease_expires_at=now + timedelta(seconds=30)
    )
    body = api.post(f"/api/executions/{execution.pk}/stop/").json()
    assert body["status"] == "running" and body["cancel_requested"] is True  # its worker is asked

    assert sweep_expired_leases() == []  # the lease is still alive: nothing to do yet
    Execution.objects.filter(pk=execution.pk).update(lease_expires_at=now - timedelta(seconds=1))
    assert sweep_expired_leases() == []  # not recovered: ended
    row = Execution.objects.get(pk=execution.pk)
    assert row.status == "canceled"
    assert row.error["type"] == "ExecutionCanceled"
    assert row.lease_owner == "" and row.stopped_at is not None
    assert ExecutionEvent.objects.filter(execution=row, type="execution_finished").count() == 1
    assert not ExecutionEvent.objects.filter(execution=row, type="execution_recovered").exists()
    # A worker that gets the task afterwards finds nothing to run.
    assert execution_run(execution_id=execution.pk) == "canceled"
