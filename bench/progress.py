"""Progress latency: node finish → websocket receipt, with 1 and 500 subscribers on one daphne.

Run from the repository root (PostgreSQL + Redis on 127.0.0.1, as `scripts/test.sh` starts them):

    .venv/bin/python bench/progress.py                      # PostgreSQL + Redis, then the embedded default
    .venv/bin/python bench/progress.py --backend sqlite     # one backend only
    .venv/bin/python bench/progress.py --subscribers 1,100  # other audience sizes

Each backend runs in its own child process with a fresh database: one daphne process and one
qcluster (2 workers) started here, and the subscribers — websocket clients in this process, on
loopback, authenticated by token as the workflow's owner (not staff, so every visibility check
is the full one). A round: an execution of a 10-node noOp chain is created without being queued,
every client subscribes to it on `/ws/progress/` (`subscribe_execution`; the bench waits for
every snapshot), then it is queued and a worker runs it; the round ends when every client has
received `execution_finished`, and the clients unsubscribe. One warm-up round is not counted.

How the latency is measured. Every client stamps each websocket message with `time.time()`
the moment it is read, before parsing it. For every `node_finished` event and every subscriber:

- **finish → receipt** = receipt − node finish, where node finish is the worker's wall clock at
  the end of the node, carried by the event itself: `data.start_time` (the engine's `time.time()`
  when the node started) + `data.execution_time_ms` (its `perf_counter` duration). This includes
  the checkpoint batching (side-effect-free nodes are committed together, every
  `BUDFLOW_CHECKPOINT_INTERVAL_MS` or at the end of the run), the commit, the publish, the
  channel layer, daphne's consumer and the client.
- **stored → receipt** = receipt − the event's `timestamp` (set by the recorder when it writes
  the event, inside the checkpoint transaction): the transport alone plus the commit.

All processes share one machine and one clock, so wall-clock differences are meaningful. With
500 subscribers the receipt stamps include this process's own time to read 500 copies of each
event (one Python process, two cores shared with daphne, the worker and the databases).
Bounded: about a minute per backend.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import noop_chain, percentile, prepare_environment, processes

CHAIN = 10
CONNECT_BATCH = 50
TARGET_P50_MS, TARGET_P99_MS = 10.0, 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"daphne did not listen on {port}")


def finished_at(event: dict[str, Any]) -> float:
    data = event["data"]
    return dt.datetime.fromisoformat(data["start_time"]).timestamp() + data["execution_time_ms"] / 1000.0


class Client:
    """One websocket subscriber: stamps every message on receipt, parses later."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.received: list[tuple[float, str | bytes]] = []
        self.waiters: list[tuple[str, int, asyncio.Future[None]]] = []
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for raw in self.ws:
            self.received.append((time.time(), raw))
            if self.waiters:
                self.check_waiters(raw)

    def check_waiters(self, raw: str | bytes) -> None:
        for kind, execution_id, future in list(self.waiters):
            text = raw.decode() if isinstance(raw, bytes) else raw
            if f'"type": "{kind}"' in text or f'"type":"{kind}"' in text:
                message = json.loads(text)
                if message.get("execution_id") == execution_id and not future.done():
                    future.set_result(None)
                    self.waiters.remove((kind, execution_id, future))

    def expect(self, kind: str, execution_id: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append((kind, execution_id, future))
        # It may have arrived already.
        for _, raw in self.received:
            self.check_waiters(raw)
            if future.done():
                break
        return future


async def connect_clients(url: str, origin: str, count: int) -> list[Client]:
    import websockets

    clients: list[Client] = []
    for start in range(0, count, CONNECT_BATCH):
        batch = range(start, min(count, start + CONNECT_BATCH))
        sockets = await asyncio.gather(
            *(websockets.connect(url, origin=origin, max_queue=None, ping_interval=None) for _ in batch)
        )
        clients.extend(Client(ws) for ws in sockets)
    return clients


async def one_round(clients: list[Client], workflow: Any, owner: Any) -> tuple[list[float], list[float]]:
    from executions.queue import enqueue_execution
    from executions.services import execution_create

    execution = await asyncio.to_thread(
        lambda: execution_create(workflow=workflow, user=owner, mode="trigger", defer_enqueue=True)
    )
    eid = execution.pk
    for client in clients:
        client.received.clear()
    snapshots = [client.expect("snapshot", eid) for client in clients]
    for client in clients:
        await client.ws.send(json.dumps({"type": "subscribe_execution", "execution_id": eid}))
    await asyncio.wait_for(asyncio.gather(*snapshots), 120)
    finished = [client.expect("execution_finished", eid) for client in clients]
    await asyncio.to_thread(enqueue_execution, eid)
    await asyncio.wait_for(asyncio.gather(*finished), 120)
    from_finish: list[float] = []
    from_stored: list[float] = []
    for client in clients:
        for received_at, raw in client.received:
            event = json.loads(raw)
            if event.get("type") != "node_finished" or event.get("execution_id") != eid:
                continue
            from_finish.append((received_at - finished_at(event)) * 1000.0)
            stored = dt.datetime.fromisoformat(event["timestamp"]).timestamp()
            from_stored.append((received_at - stored) * 1000.0)
    unsubscribed = [client.expect("unsubscribed", eid) for client in clients]
    for client in clients:
        await client.ws.send(json.dumps({"type": "unsubscribe_execution", "execution_id": eid}))
    await asyncio.wait_for(asyncio.gather(*unsubscribed), 120)
    return from_finish, from_stored


def line(label: str, values: list[float]) -> str:
    return (
        f"  {label:<18} p50 {percentile(values, 50):7.1f} ms   p99 {percentile(values, 99):7.1f} ms   "
        f"max {max(values):7.1f} ms   (n={len(values)})"
    )


async def measure(port: int, workflow: Any, owner: Any, token: str, subscribers: int, rounds: int) -> dict:
    clients = await connect_clients(
        f"ws://127.0.0.1:{port}/ws/progress/?token={token}", f"http://127.0.0.1:{port}", subscribers
    )
    try:
        await one_round(clients, workflow, owner)  # warm-up
        from_finish: list[float] = []
        from_stored: list[float] = []
        started = time.monotonic()
        for _ in range(rounds):
            a, b = await one_round(clients, workflow, owner)
            from_finish += a
            from_stored += b
        elapsed = time.monotonic() - started
    finally:
        for client in clients:
            client.task.cancel()
        await asyncio.gather(*(client.ws.close() for client in clients), return_exceptions=True)
    expected = rounds * (CHAIN) * subscribers
    assert len(from_finish) == expected, (len(from_finish), expected)
    return {"finish": from_finish, "stored": from_stored, "seconds": elapsed}


def run_backend(backend: str, audiences: list[int], rounds: dict[int, int]) -> int:
    if backend == "sqlite":
        for name in ("DATABASE_URL", "REDIS_URL"):
            os.environ.pop(name, None)
    prepare_environment("progress", backend)
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    owner = User.objects.create_user("bench")
    token = Token.objects.create(user=owner).key
    workflow, _ = noop_chain(owner, "progress", CHAIN)
    port = free_port()
    label = "PostgreSQL + Redis" if backend == "postgres" else "embedded default (SQLite, no REDIS_URL)"
    web = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "budflow_site.asgi:application"]
    with processes(web, ["qcluster"], env_extra={"BUDFLOW_WORKERS": "2"}):
        wait_for_port(port)
        time.sleep(2.0)  # let the worker start
        print(f"{label}: one daphne, one qcluster (2 workers); {CHAIN}-node noOp chain; node_finished events")
        results = {}
        for count in audiences:
            results[count] = asyncio.run(measure(port, workflow, owner, token, count, rounds[count]))
            r = results[count]
            print(f" {count} subscriber(s), {rounds[count]} runs ({r['seconds']:.1f} s)")
            print(line("finish → receipt", r["finish"]))
            print(line("stored → receipt", r["stored"]))
    if backend == "postgres" and 1 in results:
        p50, p99 = percentile(results[1]["finish"], 50), percentile(results[1]["finish"], 99)
        met = p50 <= TARGET_P50_MS and p99 <= TARGET_P99_MS
        print(
            f" target at 1 subscriber: p50 ≤ {TARGET_P50_MS:g} ms, p99 ≤ {TARGET_P99_MS:g} ms: "
            f"{'met' if met else 'NOT met'} (p50 {p50:.1f} ms, p99 {p99:.1f} ms)"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--subscribers", default="1,500", help="comma-separated audience sizes")
    parser.add_argument("--rounds", type=int, default=40, help="runs measured with one subscriber")
    parser.add_argument("--rounds-large", type=int, default=4, help="runs measured with more than 10")
    args = parser.parse_args()
    audiences = [int(n) for n in args.subscribers.split(",")]
    rounds = {n: args.rounds if n <= 10 else args.rounds_large for n in audiences}
    if args.backend != "both":
        return run_backend(args.backend, audiences, rounds)
    # Settings are read once per process: each backend gets its own.
    status = 0
    for backend in ("postgres", "sqlite"):
        cmd = [sys.executable, __file__, "--backend", backend, "--subscribers", args.subscribers]
        cmd += ["--rounds", str(args.rounds), "--rounds-large", str(args.rounds_large)]
        status |= subprocess.call(cmd)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
