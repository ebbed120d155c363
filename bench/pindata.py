"""Pin data cost: a manual run of a 20-node workflow with 10 pinned nodes × 1,000 items, beside
the same run with those 10 nodes unpinned no-ops passing the same 1,000 items.

Run from the repository root (PostgreSQL + Redis on 127.0.0.1 by default):

    .venv/bin/python bench/pindata.py [--backend sqlite] [--repeat 5]

Both runs go through the real service path (create, claim, run, checkpoint, finish) in this
process, so the figure includes reading pins from the shared cache and storing every node's
output. Medians are printed with the ratio pinned / unpinned.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import noop_chain, prepare_environment

NODES = 20
PINNED = 10
ITEMS = 1000


def workflow(owner, name: str):  # type: ignore[no-untyped-def]
    return noop_chain(owner, name, NODES, digits=2)


def timed_run(wf, owner, items) -> float:  # type: ignore[no-untyped-def]
    from executions.services import execution_create
    from executions.services.worker import execution_run

    started = time.perf_counter()
    execution = execution_create(workflow=wf, user=owner, input_data=items, defer_enqueue=True)
    status = execution_run(execution_id=execution.pk)
    elapsed = time.perf_counter() - started
    assert status == "success", status
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prepare_environment("pindata", args.backend)
    from django.contrib.auth.models import User

    from pindata.services import pin_set

    owner = User.objects.create_user("bench")
    items = [{"id": i, "name": f"item {i}", "price": i * 1.5} for i in range(ITEMS)]
    plain, _ = workflow(owner, "unpinned")
    pinned, names = workflow(owner, "pinned")
    for name in names[1 : PINNED + 1]:
        pin_set(workflow=pinned, node_name=name, data=items, user=owner, mask=False)
    timed_run(plain, owner, items)  # warm-up
    timed_run(pinned, owner, [])
    unpinned_times = [timed_run(plain, owner, items) for _ in range(args.repeat)]
    pinned_times = [timed_run(pinned, owner, []) for _ in range(args.repeat)]
    a, b = statistics.median(unpinned_times), statistics.median(pinned_times)
    print(f"backend {args.backend}; {NODES} nodes, {PINNED} pinned × {ITEMS} items; median of {args.repeat}")
    print(f"  unpinned (no-op nodes pass {ITEMS} items)  {a * 1e3:8.1f} ms")
    print(f"  pinned ({PINNED} nodes output their pin)     {b * 1e3:8.1f} ms")
    print(f"  ratio pinned / unpinned                  {b / a:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
