"""Waits with real processes: the timer process resumes them, also after restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from executions.models import Execution, ExecutionPause
from tests.conftest import connect, make_node
from tests.executions.procs import ROOT, child_env, running, signal_group

pytestmark = pytest.mark.django_db(transaction=True)


def wait_flow(seconds: float) -> dict:
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node(
            "Wait", "wait", 1.1, (200, 0), parameters={"resume": "timeInterval", "amount": seconds, "unit": "seconds"}
        ),
        make_node(
            "After",
            "set",
            3.4,
            (400, 0),
            parameters={
                "mode": "manual",
                "includeOtherFields": True,
                "assignments": {"assignments": [{"name": "resumed", "value": True, "type": "boolean"}]},
            },
        ),
    ]
    return {"nodes": nodes, "connections": connect(("Start", "Wait"), ("Wait", "After"))}


def settle(execution_id: int, statuses: set[str], timeout: float) -> Execution:
    deadline = time.monotonic() + timeout
    while True:
        execution = Execution.objects.get(pk=execution_id)
        if execution.status in statuses or time.monotonic() > deadline:
            return execution
        time.sleep(0.05)


def lateness_of(execution: Execution, node: str = "After") -> float:
    pause = ExecutionPause.objects.get(execution=execution)
    after = execution.node_runs.get(node_name=node)
    return (after.started_at - pause.due_at).total_seconds()


def test_timer_process_resumes_a_short_wait_on_a_real_worker(api, create_workflow):
    wf = create_workflow(wait_flow(1))
    with running("qcluster", ready=1.0), running("budflow_timers"):
        execution_id = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()["id"]
        assert settle(execution_id, {"waiting"}, 20).status == "waiting"
        execution = settle(execution_id, {"success", "error"}, 30)
    assert execution.status == "success", execution.error
    late = lateness_of(execution)
    assert 0 <= late < 1.0, late  # figures for lateness are measured in bench/timers.py


@pytest.mark.slow
def test_wait_survives_a_killed_worker_and_timer(api, create_workflow):
    wf = create_workflow(wait_flow(3))
    with running("qcluster", ready=1.0) as worker, running("budflow_timers") as timers:
        execution_id = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()["id"]
        assert settle(execution_id, {"waiting"}, 20).status == "waiting"
        signal_group(worker, signal.SIGKILL)
        signal_group(timers, signal.SIGKILL)
        worker.wait(10)
        timers.wait(10)
    time.sleep(3)  # the wait falls due while nothing runs
    assert Execution.objects.get(pk=execution_id).status == "waiting"
    with running("qcluster", ready=1.0), running("budflow_timers"):
        execution = settle(execution_id, {"success", "error"}, 30)
    assert execution.status == "success"
    assert execution.node_runs.filter(node_name="After").count() == 1


def test_overdue_wait_fires_within_a_second_of_timer_start_up(api, create_workflow, inline_runs):
    wf = create_workflow(wait_flow(3600))
    execution_id = api.post(f"/api/workflows/{wf['id']}/execute/", {}, format="json").json()["id"]
    assert Execution.objects.get(pk=execution_id).status == "waiting"
    ExecutionPause.objects.filter(execution_id=execution_id).update(due_at=timezone.now() - timedelta(minutes=5))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "budflow_timers"],
        cwd=ROOT,
        env=child_env(BUDFLOW_RUN_INLINE="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # printed once the process is ready
        ready = timezone.now()
        execution = settle(execution_id, {"success"}, 10)
        resumed_at = ExecutionPause.objects.get(execution_id=execution_id).resumed_at
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
    assert execution.status == "success"
    assert (resumed_at - ready).total_seconds() < 1.0


def test_w4_webhook_waits_then_answers(live_server, api):
    import json

    from tests.workflows.test_n8n_fixtures import PEERS

    wf = api.post("/api/workflows/import/", json.loads((PEERS / "W4_wait1s.json").read_text()), format="json").json()
    assert api.post(f"/api/workflows/{wf['id']}/activate/").status_code == 200
    with running("qcluster", ready=1.0), running("budflow_timers"):
        started = time.monotonic()
        response = httpx.post(f"{live_server.url}/webhook/w4-1s", json={"x": 1}, timeout=30)
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["resumed"] is True and response.json()["body"] == {"x": 1}
    assert 1.0 <= elapsed < 5.0


@pytest.mark.slow
def test_w4l_seventy_second_wait(live_server, api):
    import json

    from tests.workflows.test_n8n_fixtures import PEERS

    wf = api.post("/api/workflows/import/", json.loads((PEERS / "W4L_wait70s.json").read_text()), format="json").json()
    assert api.post(f"/api/workflows/{wf['id']}/activate/").status_code == 200
    with running("qcluster", ready=1.0), running("budflow_timers"):
        response = httpx.post(f"{live_server.url}/webhook/w4-70s", json={"x": 1}, timeout=10)
        assert response.status_code == 200 and response.json()["message"] == "Workflow was started"
        execution_id = response.json()["executionId"]
        assert settle(execution_id, {"waiting"}, 20).status == "waiting"
        execution = settle(execution_id, {"success", "error"}, 90)
    assert execution.status == "success"
    assert execution.node_runs.get(node_name="After wait").output[0][0]["json"]["resumed"] is True
    assert 0 <= lateness_of(execution, "After wait") < 1.0
