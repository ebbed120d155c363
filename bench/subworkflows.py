"""Sub-workflow cost: 100 items through an Execute Workflow node in ``each`` mode (one child
execution per item) to a 3-node child, beside the same 3 nodes run inline in one execution.

Run from the repository root (PostgreSQL + Redis on 127.0.0.1 by default):

    .venv/bin/python bench/subworkflows.py [--backend sqlite] [--repeat 5]

Every run goes through the real service path (create, claim, run, checkpoint, finish) in this
process; children run inside the parent's run as they do on a worker. Printed (medians):
the whole parent run and the time per child execution; the inline run and its time per item;
the ratio per child / per inline item; and, for scale, one whole execution of the 3 nodes with
one item (the floor any execution pays), ``each`` with ``concurrency`` 4, and the ``once`` mode
(one child for all 100 items).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import prepare_environment

ITEMS = 100


def node(name: str, type_: str, version: float, x: int, **parameters: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": f"n8n-nodes-base.{type_}",
        "typeVersion": version,
        "position": [x, 0],
        "parameters": parameters,
    }


def assign(name: str, field: str, value: str, x: int) -> dict[str, Any]:
    assignments = {"assignments": [{"id": field, "name": field, "value": value, "type": "string"}]}
    return node(name, "set", 3.4, x, mode="manual", includeOtherFields=True, assignments=assignments)


def line(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    names = [n["name"] for n in nodes]
    return {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in itertools.pairwise(names)}


def three_nodes(first: dict[str, Any]) -> list[dict[str, Any]]:
    """``first`` (the child's trigger, or a no-op inline) → Double → Tag."""
    return [first, assign("Double", "double", "={{ $json.n * 2 }}", 200), assign("Tag", "tag", "done", 400)]


def workflows(owner):  # type: ignore[no-untyped-def]
    from workflows.services import workflow_create

    def create(name: str, nodes: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
        return workflow_create(owner=owner, name=name, nodes=nodes, connections=line(nodes))

    start = node("Start", "manualTrigger", 1, -200)
    child = create("child", three_nodes(node("In", "executeWorkflowTrigger", 1.1, 0, inputSource="passthrough")))

    def caller(mode: str, **extra: Any) -> list[dict[str, Any]]:
        target = {"__rl": True, "value": str(child.pk)}
        return [start, node("Call", "executeWorkflow", 1.2, 0, workflowId=target, mode=mode, **extra)]

    return {
        "each": create("parent each", caller("each")),
        "each4": create("parent each x4", caller("each", concurrency=4)),
        "once": create("parent once", caller("once")),
        "inline": create("inline", [start, *three_nodes(node("In", "noOp", 1, 0))]),
        "child": child,
    }


def timed(wf, owner, items) -> float:  # type: ignore[no-untyped-def]
    from executions.services import execution_create
    from executions.services.worker import execution_run

    started = time.perf_counter()
    execution = execution_create(workflow=wf, user=owner, input_data=items, defer_enqueue=True)
    status = execution_run(execution_id=execution.pk)
    elapsed = time.perf_counter() - started
    assert status == "success", (status, execution.pk)
    return elapsed


def check(wf, owner, items) -> None:  # type: ignore[no-untyped-def]
    """The each-mode parent really made one child per item and got every item back."""
    from executions.models import Execution, NodeRun
    from executions.services import execution_create
    from executions.services.worker import execution_run

    execution = execution_create(workflow=wf, user=owner, input_data=items, defer_enqueue=True)
    assert execution_run(execution_id=execution.pk) == "success"
    children = Execution.objects.filter(parent_execution=execution, status="success").count()
    output = NodeRun.objects.get(execution=execution, node_name="Call").output
    assert children == len(items) and len(output[0]) == len(items), (children, len(output[0]))
    assert output[0][3]["json"] == {"n": 3, "double": "6", "tag": "done"}, output[0][3]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prepare_environment("subworkflows", args.backend)
    from django.contrib.auth.models import User

    owner = User.objects.create_user("bench")
    flows = workflows(owner)
    items = [{"n": i} for i in range(ITEMS)]
    check(flows["each"], owner, items)  # also the warm-up
    for name in ("each4", "once", "inline"):
        timed(flows[name], owner, items)

    def median(name: str, data: list[dict[str, int]]) -> float:
        return statistics.median(timed(flows[name], owner, data) for _ in range(args.repeat))

    each, once, inline = median("each", items), median("once", items), median("inline", items)
    each4 = median("each4", items)
    single = statistics.median(timed(flows["inline"], owner, [{"n": 1}]) for _ in range(args.repeat))
    per_child, per_item = each / ITEMS, inline / ITEMS
    print(f"backend {args.backend}; {ITEMS} items; 3-node child (trigger, Set, Set); median of {args.repeat}")
    print(f"  each mode: parent run with {ITEMS} children   {each * 1e3:8.1f} ms   {per_child * 1e3:6.2f} ms per child")
    print(f"  inline: the 3 nodes on {ITEMS} items          {inline * 1e3:8.1f} ms   {per_item * 1e3:6.2f} ms per item")
    print(f"  ratio per child / per inline item          {per_child / per_item:8.1f}")
    print(f"  one whole execution of the 3 nodes, 1 item {single * 1e3:8.1f} ms")
    print(f"  ratio per child / one whole execution      {per_child / single:8.2f}")
    per_child4 = each4 / ITEMS
    print(f"  each mode, concurrency 4                   {each4 * 1e3:8.1f} ms   {per_child4 * 1e3:6.2f} ms per child")
    print(f"  once mode: one child for all {ITEMS} items   {once * 1e3:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
