"""Partial execution cost: a full run of a noOp chain beside a partial run of its last node
(destination = the last node, nothing changed: every upstream run is reused as a reference),
for chains of 500 and 2,000 nodes, and a whole one-node execution as the floor any run pays.

Run from the repository root (SQLite by default here; ``--backend postgres`` for PostgreSQL):

    .venv/bin/python bench/partial.py [--backend postgres] [--repeat 5]

Every run goes through the real service path (create, claim, run, checkpoint, finish) in this
process. Medians are printed with the ratio partial / full (target ≤ 0.05 at 500 nodes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import noop_chain, prepare_environment

SIZES = (500, 2000)


def timed_full(wf, owner) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from executions.services import execution_create
    from executions.services.worker import execution_run

    started = time.perf_counter()
    execution = execution_create(workflow=wf, user=owner, defer_enqueue=True)
    status = execution_run(execution_id=execution.pk)
    elapsed = time.perf_counter() - started
    assert status == "success", status
    return elapsed, execution.pk


def timed_partial(wf, owner, previous, names: list[str]) -> float:  # type: ignore[no-untyped-def]
    from executions.models import NodeRun
    from executions.services.partial import execution_create_partial
    from executions.services.worker import execution_run

    started = time.perf_counter()
    execution = execution_create_partial(
        workflow=wf, user=owner, destination_node=names[-1], previous_execution=previous, defer_enqueue=True
    )
    status = execution_run(execution_id=execution.pk)
    elapsed = time.perf_counter() - started
    assert status == "success", status
    executed = NodeRun.objects.filter(execution=execution).count()
    execution.refresh_from_db()
    assert executed == 1 and len(execution.reused_runs) == len(names) - 1, (executed, len(execution.reused_runs))
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prepare_environment("partial", args.backend)
    from django.contrib.auth.models import User

    from executions.models import Execution

    owner = User.objects.create_user("bench")
    one, _ = noop_chain(owner, "one", 1)
    timed_full(one, owner)  # warm-up
    floor = statistics.median(timed_full(one, owner)[0] for _ in range(args.repeat))
    print(f"backend {args.backend}; noOp chains; medians of {args.repeat}")
    print(f"  a whole one-node execution (the floor)      {floor * 1e3:8.1f} ms")
    for size in SIZES:
        wf, names = noop_chain(owner, f"chain{size}", size)
        _, first = timed_full(wf, owner)  # warm-up, and the execution the partial runs reuse
        previous = Execution.objects.get(pk=first)
        timed_partial(wf, owner, previous, names)
        full = statistics.median(timed_full(wf, owner)[0] for _ in range(args.repeat))
        partial = statistics.median(timed_partial(wf, owner, previous, names) for _ in range(args.repeat))
        print(f"  {size:5d} nodes: full run                       {full * 1e3:8.1f} ms")
        print(f"  {size:5d} nodes: partial run of the last node   {partial * 1e3:8.1f} ms")
        print(f"  {size:5d} nodes: ratio partial / full           {partial / full:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
