"""Partial execution cost: a full run of a 500-node noOp chain beside a partial run of its last node
(destination = the last node, nothing changed: every upstream run is reused as a reference).

Run from the repository root (SQLite by default here; ``--backend postgres`` for PostgreSQL):

    .venv/bin/python bench/partial.py [--backend postgres] [--repeat 3]

Both runs go through the real service path (create, claim, run, checkpoint, finish) in this
process. Medians are printed with the ratio partial / full (target ≤ 0.05, issue 4).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import noop_chain, prepare_environment

NODES = 500


def workflow(owner):  # type: ignore[no-untyped-def]
    return noop_chain(owner, "chain", NODES)


def timed_full(wf, owner) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from executions.services import execution_create
    from executions.services.worker import execution_run

    started = time.perf_counter()
    execution = execution_create(workflow=wf, user=owner, defer_enqueue=True)
    status = execution_run(execution_id=execution.pk)
    elapsed = time.perf_counter() - started
    assert status == "success", status
    return elapsed, execution.pk


def timed_partial(wf, owner, previous, last: str) -> float:  # type: ignore[no-untyped-def]
    from executions.models import NodeRun
    from executions.services.partial import execution_create_partial
    from executions.services.worker import execution_run

    started = time.perf_counter()
    execution = execution_create_partial(
        workflow=wf, user=owner, destination_node=last, previous_execution=previous, defer_enqueue=True
    )
    status = execution_run(execution_id=execution.pk)
    elapsed = time.perf_counter() - started
    assert status == "success", status
    executed = NodeRun.objects.filter(execution=execution, reused_from__isnull=True).count()
    assert executed == 1, executed
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    prepare_environment("partial", args.backend)
    from django.contrib.auth.models import User

    from executions.models import Execution

    owner = User.objects.create_user("bench")
    wf, names = workflow(owner)
    _, first = timed_full(wf, owner)  # warm-up
    previous = Execution.objects.get(pk=first)
    timed_partial(wf, owner, previous, names[-1])
    full_times = [timed_full(wf, owner)[0] for _ in range(args.repeat)]
    partial_times = [timed_partial(wf, owner, previous, names[-1]) for _ in range(args.repeat)]
    a, b = statistics.median(full_times), statistics.median(partial_times)
    print(f"backend {args.backend}; {NODES}-node noOp chain; median of {args.repeat}")
    print(f"  full run                         {a * 1e3:8.1f} ms")
    print(f"  partial run of the last node     {b * 1e3:8.1f} ms")
    print(f"  ratio partial / full             {b / a:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
