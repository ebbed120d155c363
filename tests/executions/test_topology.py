"""The scale-out topology of docs/deploy.md on one machine: 2 web, 2 worker and 2 timer processes.

Executions are created through web process A, run on both worker processes, wait a moment and
are resumed exactly once by one of the two competing timer processes, while a websocket client
on web process B receives their progress live (published by workers and timers, fanned out by
channels-redis). Every process shares only PostgreSQL and Redis, as on separate hosts.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.conf import settings
from django_q.brokers import get_broker
from django_q.status import Stat
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect as ws_connect

from executions.models import Execution, ExecutionEvent, ExecutionPause
from tests.conftest import Reply, chained, make_node
from tests.executions.procs import daphne, running

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.IS_SQLITE or not settings.REDIS_URL,
        reason="multi-host topology needs PostgreSQL + Redis; the embedded SQLite default is single-host",
    ),
]

EXECUTIONS = 8
SLOW_SECONDS = 0.3  # holds a worker long enough to see which one runs the execution
WAIT_SECONDS = 0.5
DEADLINE_SECONDS = 40.0
# Time waits are handed over up to TIMER_LEAD_MS before they are due (and resume on time).
LEAD = timedelta(milliseconds=int(settings.BUDFLOW["TIMER_LEAD_MS"]) + 50)


def topology_flow(url: str) -> dict[str, Any]:
    """Start → Slow (HTTP call) → Wait (time) → After."""
    return chained(
        [
            make_node("Start", "manualTrigger"),
            make_node("Slow", "httpRequest", 4.2, (200, 0), parameters={"url": url}),
            make_node(
                "Wait",
                "wait",
                1.1,
                (400, 0),
                parameters={"resume": "timeInterval", "amount": WAIT_SECONDS, "unit": "seconds"},
            ),
            make_node("After", position=(600, 0)),
        ]
    )


def wait_for_clusters(pids: set[int], timeout: float = 20.0) -> dict[int, int]:
    """Wait until both qclusters report to Redis; returns worker pid → qcluster pid."""
    broker = get_broker()
    deadline = time.monotonic() + timeout
    while True:
        stats = [s for s in Stat.get_all(broker) if s.pid in pids and s.status in ("Idle", "Working")]
        if {s.pid for s in stats} == pids and all(s.workers for s in stats):
            return {worker: s.pid for s in stats for worker in s.workers}
        assert time.monotonic() < deadline, f"qclusters not ready: {[(s.pid, s.status) for s in stats]}"
        time.sleep(0.2)


def wait_ready(client: httpx.Client, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ready = client.get("/healthz/ready")
        if ready.status_code == 200:
            return
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.2)


def test_two_web_two_worker_two_timer_processes_share_runs_waits_and_progress(owner, json_server) -> None:
    base, calls = json_server(lambda path: Reply({"path": path}, delay=SLOW_SECONDS))
    with ExitStack() as stack:
        port_a, port_b = (stack.enter_context(daphne()) for _ in range(2))
        workers = [stack.enter_context(running("qcluster", BUDFLOW_WORKERS="2")) for _ in range(2)]
        timers = [stack.enter_context(running("budflow_timers")) for _ in range(2)]
        web_a = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port_a}", timeout=10))
        web_b = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=10))
        for web in (web_a, web_b):
            assert web.get("/healthz").status_code == 200
            wait_ready(web)
        cluster_of = wait_for_clusters({w.pid for w in workers})

        # One token, good on every web process (the children hash passwords differently from
        # the test process, so it is made here rather than by signing in).
        token = Token.objects.get_or_create(user=owner)[0].key
        auth = {"Authorization": f"Token {token}"}
        body = {"name": "topology", **topology_flow(f"{base}/slow")}
        created = web_a.post("/api/workflows/", json=body, headers=auth)
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]

        ws_url = f"ws://127.0.0.1:{port_b}/ws/progress/?token={token}"
        received: dict[int, list[dict[str, Any]]] = {}
        owners_seen: set[str] = set()
        with ws_connect(ws_url, origin=f"http://127.0.0.1:{port_b}", open_timeout=10) as ws:
            ids = []
            for n in range(EXECUTIONS):
                response = web_a.post(
                    f"/api/workflows/{workflow_id}/execute/", json={"input_data": [{"n": n}]}, headers=auth
                )
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
                ws.send(json.dumps({"type": "subscribe_execution", "execution_id": ids[-1]}))
                received[ids[-1]] = []

            deadline = time.monotonic() + DEADLINE_SECONDS
            finished: set[int] = set()
            while len(finished) < EXECUTIONS and time.monotonic() < deadline:
                # Which processes hold the leases now (a worker id is host:pid:random).
                owners_seen.update(
                    Execution.objects.filter(pk__in=ids).exclude(lease_owner="").values_list("lease_owner", flat=True)
                )
                try:
                    message = json.loads(ws.recv(timeout=0.03))
                except TimeoutError:
                    continue
                received[message["execution_id"]].append(message)
                if message["type"] == "execution_finished":
                    finished.add(message["execution_id"])
            # Web B serves what A created and the workers ran.
            details = [web_b.get(f"/api/executions/{i}/", headers=auth) for i in ids]
        alive = [p.poll() is None for p in (*workers, *timers)]
        # Processes are still running here: map the lease holders to their processes.
        holders = {int(owner.split(":")[-2]) for owner in owners_seen}

    assert alive == [True] * 4
    assert [(d.status_code, d.json()["status"]) for d in details] == [(200, "success")] * EXECUTIONS
    assert finished == set(ids), (
        f"not finished over the websocket: {set(ids) - finished}",
        list(Execution.objects.filter(pk__in=ids).values_list("pk", "status", "lease_owner")),
        {i: [m["type"] for m in r] for i, r in received.items()},
    )

    executions = {e.pk: e for e in Execution.objects.filter(pk__in=ids)}
    ended = [(e.pk, e.status, e.error) for e in executions.values()]
    assert {e.status for e in executions.values()} == {"success"}, ended
    # Both worker processes ran executions; every other lease holder was a timer process
    # running a continuation after a wait.
    assert {cluster_of[pid] for pid in holders if pid in cluster_of} == {w.pid for w in workers}, (holders, cluster_of)
    assert holders - set(cluster_of) <= {t.pid for t in timers}, holders

    # Each wait was resumed exactly once, by a timer, and no node ran twice across processes.
    assert len(calls) == EXECUTIONS
    for execution_id in ids:
        pauses = list(ExecutionPause.objects.filter(execution_id=execution_id))
        assert [(p.status, p.resume_trigger) for p in pauses] == [("resumed", "timer")]
        assert pauses[0].resumed_at >= pauses[0].due_at - LEAD
        runs = list(executions[execution_id].node_runs.values_list("node_name", flat=True))
        assert runs.count("Slow") == 1 and runs.count("After") == 1, runs
        stored = list(ExecutionEvent.objects.filter(execution_id=execution_id).order_by("sequence"))
        assert [e.sequence for e in stored] == list(range(1, len(stored) + 1))
        assert [e.type for e in stored].count("execution_resumed") == 1

        # B's client: a snapshot taken before the end, then every later event in order, relayed
        # through Redis from the workers and timers (a gap would be filled from the log).
        snapshot, *events = received[execution_id]
        assert snapshot["type"] == "snapshot" and snapshot["data"]["status"] in ("new", "running", "waiting")
        assert [e["sequence"] for e in events] == list(range(snapshot["sequence"] + 1, len(stored) + 1))
        assert [e["type"] for e in events] == [e.type for e in stored[snapshot["sequence"] :]]
        assert "execution_resumed" in [e["type"] for e in events]
        assert events[-1]["data"]["status"] == "success"
