"""Engine benchmark: the in-process cost of the loop next to a bare Python loop doing the same copies.

Run from the repository root: ``.venv/bin/python bench/engine.py`` (no Django, no database).

Two shapes: (a) a 1,000-node linear noOp chain over 1 item, where the per-node cost of the loop
dominates, and (b) a 10-node noOp chain over 10,000 items, where the per-item copies dominate.
Each case is timed several times and the median reported. The engine time covers building the
runner (graph and per-node plans) and running it, as a worker does for every execution.

The bare loop makes the same copy per item per node (``{**item, "pairedItem": {"item": i}}``)
and drops each list once the next is built; "overhead per node run" is
(engine − bare loop) / node runs. The engine must keep every node's output (it is the run data),
so a second baseline keeps every list too: with many items, that retention, not the loop,
is most of the gap to the first baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.engine.registry import default_registry
from workflows.engine.runner import WorkflowRunner, start_state

TARGET_OVERHEAD_US = 20.0

Item = dict[str, Any]


def chain(length: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A manual trigger followed by ``length - 1`` noOp nodes, each connected to the next."""
    nodes: list[dict[str, Any]] = [
        {"name": "N0", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}}
    ]
    connections: dict[str, Any] = {}
    for i in range(1, length):
        nodes.append(
            {
                "name": f"N{i}",
                "type": "n8n-nodes-base.noOp",
                "typeVersion": 1,
                "position": [i * 200, 0],
                "parameters": {},
            }
        )
        connections[f"N{i - 1}"] = {"main": [[{"node": f"N{i}", "type": "main", "index": 0}]]}
    return nodes, connections


def build_runner(nodes: list[dict[str, Any]], connections: dict[str, Any], items: list[Item]) -> WorkflowRunner:
    return WorkflowRunner(
        nodes=nodes,
        connections=connections,
        registry=default_registry(),
        state=start_state(nodes[0]["name"], items),
    )


def run_engine(nodes: list[dict[str, Any]], connections: dict[str, Any], items: list[Item]) -> int:
    runner = build_runner(nodes, connections, items)
    result = runner.run()
    assert result.status == "success", result
    last = runner.run_data[nodes[-1]["name"]][0].output
    assert last is not None and len(last[0]) == len(items)
    return runner.state.node_runs


def run_bare(node_runs: int, items: list[Item]) -> list[Item]:
    """What a node run costs at the least: one new dict per item carrying its pairedItem."""
    current = items
    for _ in range(node_runs):
        current = [{**item, "pairedItem": {"item": i}} for i, item in enumerate(current)]
    return current


def run_bare_keeping(node_runs: int, items: list[Item]) -> list[list[Item]]:
    """The same copies, keeping every node's list alive as the engine's run data does."""
    kept = [items]
    for _ in range(node_runs):
        kept.append([{**item, "pairedItem": {"item": i}} for i, item in enumerate(kept[-1])])
    return kept


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(label: str, length: int, item_count: int, repeat: int) -> float:
    nodes, connections = chain(length)
    items = [{"json": {"id": i, "name": f"item {i}"}, "pairedItem": {"item": i}} for i in range(item_count)]
    node_runs = run_engine(nodes, connections, items)  # warm-up; also checks the outcome
    engine = median_seconds(lambda: run_engine(nodes, connections, items), repeat)
    build = median_seconds(lambda: build_runner(nodes, connections, items), repeat)
    bare = median_seconds(lambda: run_bare(node_runs, items), repeat)
    keeping = median_seconds(lambda: run_bare_keeping(node_runs, items), repeat)
    item_runs = node_runs * item_count
    overhead_us = (engine - bare) / node_runs * 1e6

    def row(name: str, seconds: float) -> str:
        return (
            f"  {name:<28} {seconds * 1e3:9.2f} ms  {seconds / node_runs * 1e6:9.2f} µs/node run"
            f"  {seconds / item_runs * 1e9:9.1f} ns/item"
        )

    print(f"{label}: {length} nodes × {item_count} items = {node_runs} node runs; median of {repeat}")
    print(row("engine (build + run)", engine))
    print(f"  {'  of which building':<28} {build * 1e3:9.2f} ms")
    print(row("bare loop", bare))
    print(row("bare loop keeping outputs", keeping))
    print(f"  {'ratio engine / bare loop':<28} {engine / bare:9.2f}×   (keeping outputs: {engine / keeping:.2f}×)")
    verdict = "within" if overhead_us <= TARGET_OVERHEAD_US else "OVER"
    print(
        f"  overhead per node run {overhead_us:8.2f} µs ({verdict} the {TARGET_OVERHEAD_US:.0f} µs target); "
        f"against the keeping loop {(engine - keeping) / node_runs * 1e6:.2f} µs"
    )
    return overhead_us


def main() -> int:
    parser = argparse.ArgumentParser(description="BudFlow engine benchmark (in-process, no Django)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case; the median is reported")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    bench("(a) long chain", 1000, 1, args.repeat)
    bench("(b) many items", 10, 10_000, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
