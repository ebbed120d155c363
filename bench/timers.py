"""Wait lateness: how late the node after a Wait starts, against the wait's due time.

Run from the repository root (PostgreSQL + Redis on 127.0.0.1, as `scripts/test.sh` starts them):

    .venv/bin/python bench/timers.py            # 200 waits of 1-5 s together, then 20 waits of 70 s
    .venv/bin/python bench/timers.py --quick    # 200 short waits only

A real worker (`qcluster`) and timer process (`budflow_timers`) run the executions; lateness is
`NodeRun(After).started_at - ExecutionPause.due_at`, so it includes the timer's wake-up, the
resume transaction, the queue hop to the worker, the claim and the restore of the state.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import percentile, prepare_environment, processes


def wait_workflow(owner, seconds: float):  # type: ignore[no-untyped-def]
    from workflows.services import workflow_create

    def node(name, type_, version, x, **params):  # type: ignore[no-untyped-def]
        return {
            "name": name,
            "type": f"n8n-nodes-base.{type_}",
            "typeVersion": version,
            "position": [x, 0],
            "parameters": params,
        }

    return workflow_create(
        owner=owner,
        name=f"wait {seconds}s",
        nodes=[
            node("Start", "manualTrigger", 1, 0),
            node("Wait", "wait", 1.1, 200, resume="timeInterval", amount=seconds, unit="seconds"),
            node("After", "noOp", 1, 400),
        ],
        connections={
            "Start": {"main": [[{"node": "Wait", "type": "main", "index": 0}]]},
            "Wait": {"main": [[{"node": "After", "type": "main", "index": 0}]]},
        },
    )


def run_batch(label: str, lengths: list[float], owner) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    from executions.models import Execution, ExecutionPause, NodeRun
    from executions.services import execution_create

    workflows = {s: wait_workflow(owner, s) for s in sorted(set(lengths))}
    ids = [execution_create(workflow=workflows[s], user=owner, mode="trigger").pk for s in lengths]
    deadline = time.monotonic() + max(lengths) + 120
    while Execution.objects.filter(pk__in=ids, status__in=["success", "error", "crashed", "canceled"]).count() < len(
        ids
    ):
        if time.monotonic() > deadline:
            print(f"{label}: timed out", file=sys.stderr)
            break
        time.sleep(0.5)
    due = dict(ExecutionPause.objects.filter(execution_id__in=ids).values_list("execution_id", "due_at"))
    after = dict(
        NodeRun.objects.filter(execution_id__in=ids, node_name="After").values_list("execution_id", "started_at")
    )
    length_of = dict(zip(ids, lengths, strict=True))
    return [(length_of[i], (after[i] - due[i]).total_seconds() * 1000) for i in ids if i in after and i in due]


def report(label: str, results: list[tuple[float, float]], expected: int) -> None:
    late = [ms for _, ms in results]
    print(f"{label}: {len(results)}/{expected} resumed")
    if not late:
        return
    print(
        f"  lateness ms   p50 {percentile(late, 50):7.1f}   p99 {percentile(late, 99):7.1f}   "
        f"max {max(late):7.1f}   min {min(late):7.1f}   mean {statistics.mean(late):7.1f}"
    )
    for length in sorted({s for s, _ in results}):
        subset = [ms for s, ms in results if s == length]
        print(
            f"  wait {length:5.0f} s  n={len(subset):3d}  p50 {percentile(subset, 50):7.1f}  "
            f"p99 {percentile(subset, 99):7.1f}  max {max(subset):7.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 70 s waits")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", default="4", help="worker processes of the qcluster")
    parser.add_argument("--long-seconds", type=float, default=70.0, help="length of the long waits")
    args = parser.parse_args()
    prepare_environment("timers", args.backend)
    from django.contrib.auth.models import User

    owner = User.objects.create_user("bench")
    with processes(["qcluster"], ["budflow_timers"], env_extra={"BUDFLOW_WORKERS": args.workers}):
        time.sleep(2.0)  # let the worker and the timer process start
        short = [float(1 + i % 5) for i in range(200)]
        report("200 waits of 1-5 s started together", run_batch("short", short, owner), len(short))
        if not args.quick:
            long = [float(args.long_seconds)] * 20
            report(f"20 waits of {args.long_seconds:g} s", run_batch("long", long, owner), len(long))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
