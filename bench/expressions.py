"""Expression benchmark: a Set node and an If node evaluating expressions over 10,000 items.

Run from the repository root: ``.venv/bin/python bench/expressions.py`` (no Django, no database).

Case (a): a manual trigger feeding a Set node (3.4, manual mode) with three expression
assignments::

    a2    = {{ $json.a + 1 }}                          (number)
    upper = {{ $json.name.toUpperCase() }}             (string)
    size  = {{ $json.a * 2 > 10 ? 'big' : 'small' }}    (string)

Case (b): the same trigger feeding an If node (2.2) whose condition is the expression
``{{ $json.a % 3 === 0 && $json.name.startsWith('item') }}`` (boolean, is true).

Each case runs through ``WorkflowRunner`` with ``evaluate_template`` as the evaluator, timed
several times (median), and beside a plain Python loop that builds the same output dicts with
the same logic written in Python. Per-item figures divide by the item count; the engine time
includes the trigger's pass-through, so "per item" is an upper bound for the node alone.
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

from workflows.engine.expressions import compile_template, evaluate_template
from workflows.engine.registry import default_registry
from workflows.engine.runner import WorkflowRunner, start_state

TARGET_SET_US = 30.0
Item = dict[str, Any]

TRIGGER = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0]}
SET_NODE = {
    "name": "Set",
    "type": "n8n-nodes-base.set",
    "typeVersion": 3.4,
    "position": [200, 0],
    "parameters": {
        "mode": "manual",
        "assignments": {
            "assignments": [
                {"id": "1", "name": "a2", "value": "={{ $json.a + 1 }}", "type": "number"},
                {"id": "2", "name": "upper", "value": "={{ $json.name.toUpperCase() }}", "type": "string"},
                {"id": "3", "name": "size", "value": "={{ $json.a * 2 > 10 ? 'big' : 'small' }}", "type": "string"},
            ]
        },
        "includeOtherFields": False,
        "options": {},
    },
}
IF_NODE = {
    "name": "If",
    "type": "n8n-nodes-base.if",
    "typeVersion": 2.2,
    "position": [200, 0],
    "parameters": {
        "conditions": {
            "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2},
            "conditions": [
                {
                    "id": "c1",
                    "leftValue": "={{ $json.a % 3 === 0 && $json.name.startsWith('item') }}",
                    "rightValue": "",
                    "operator": {"type": "boolean", "operation": "true", "singleValue": True},
                }
            ],
            "combinator": "and",
        },
        "options": {},
    },
}


def make_items(count: int) -> list[Item]:
    return [{"json": {"a": i, "name": f"item {i}"}, "pairedItem": {"item": i}} for i in range(count)]


def run_engine(node: dict[str, Any], items: list[Item]) -> list[list[Item]]:
    runner = WorkflowRunner(
        nodes=[TRIGGER, node],
        connections={"Start": {"main": [[{"node": node["name"], "type": "main", "index": 0}]]}},
        registry=default_registry(),
        state=start_state("Start", items),
        evaluator=evaluate_template,
    )
    result = runner.run()
    assert result.status == "success", result
    output = runner.run_data[node["name"]][0].output
    assert output is not None
    return output


def bare_set(items: list[Item]) -> list[Item]:
    """The Set node's work written directly in Python."""
    out = []
    for i, item in enumerate(items):
        j = item["json"]
        out.append(
            {
                "json": {"a2": j["a"] + 1, "upper": j["name"].upper(), "size": "big" if j["a"] * 2 > 10 else "small"},
                "pairedItem": {"item": i},
            }
        )
    return out


def bare_if(items: list[Item]) -> list[list[Item]]:
    true_items: list[Item] = []
    false_items: list[Item] = []
    for i, item in enumerate(items):
        j = item["json"]
        target = true_items if j["a"] % 3 == 0 and j["name"].startswith("item") else false_items
        target.append({**item, "pairedItem": {"item": i}})
    return [true_items, false_items]


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(label: str, node: dict[str, Any], bare: Callable[[list[Item]], Any], count: int, repeat: int) -> float:
    items = make_items(count)
    engine_out = run_engine(node, items)  # warm-up (fills the template cache) and checks the outcome
    expected = bare(items)
    if label.startswith("(a)"):
        assert engine_out[0] == expected, "the Set node and the bare loop disagree"
    else:
        assert [len(o) for o in engine_out] == [len(o) for o in expected], "the If node and the bare loop disagree"
    engine = median_seconds(lambda: run_engine(node, items), repeat)
    plain = median_seconds(lambda: bare(items), repeat)
    per_item = engine / count * 1e6
    print(f"{label}: {count:,} items, median of {repeat}")
    print(f"  {'engine + expressions':<26} {engine * 1e3:9.2f} ms  {per_item:8.2f} µs/item")
    print(f"  {'plain Python loop':<26} {plain * 1e3:9.2f} ms  {plain / count * 1e6:8.2f} µs/item")
    print(f"  {'ratio engine / plain':<26} {engine / plain:9.1f}×")
    return per_item


def bench_single(count: int, repeat: int) -> None:
    """One evaluation in isolation: the cost per call of the evaluator itself."""
    from workflows.engine.context import ExecutionInfo, NodeContext

    items = make_items(count)
    ctx = NodeContext(SET_NODE, [items], [None], 0, ExecutionInfo(), {}, {})
    print("(c) evaluate_template alone: per call with the template cached, and one compilation")
    print(f"  {'template':<52} {'per call':>9} {'compile':>10}")
    for template in (
        "={{ $json.a + 1 }}",
        "={{ $json.name.toUpperCase() }}",
        "={{ $json.a * 2 > 10 ? 'big' : 'small' }}",
        "=Hello {{ $json.name }}!",
        "={{ [1, 2, 3].map(x => x * $json.a).join('-') }}",
    ):

        def compile_cold(t: str = template) -> None:
            for _ in range(200):
                compile_template.cache_clear()
                compile_template(t)

        compile_seconds = median_seconds(compile_cold, repeat) / 200
        compile_template(template)

        def loop(t: str = template) -> None:
            for i in range(count):
                evaluate_template(t, ctx, i, "p")

        seconds = median_seconds(loop, repeat)
        print(f"  {template:<52} {seconds / count * 1e6:6.2f} µs {compile_seconds * 1e6:7.1f} µs")


def main() -> int:
    parser = argparse.ArgumentParser(description="BudFlow expression benchmark (in-process, no Django)")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case; the median is reported")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    per_item = bench("(a) Set, 3 expressions", SET_NODE, bare_set, args.items, args.repeat)
    verdict = "within" if per_item <= TARGET_SET_US else "OVER"
    print(f"  {verdict} the {TARGET_SET_US:.0f} µs/item target for the Set case")
    bench("(b) If, 1 expression condition", IF_NODE, bare_if, args.items, args.repeat)
    bench_single(args.items, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
