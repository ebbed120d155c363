"""Helpers for the expression tests: a node context over given items, and one-call evaluation."""

from __future__ import annotations

from typing import Any

from workflows.engine.context import ExecutionInfo, NodeContext
from workflows.engine.expressions import evaluate_template
from workflows.engine.state import Items, RunData, Source

ADA = {
    "name": "Ada Lovelace",
    "n": 5,
    "price": 19.99,
    "tags": ["math", "poetry", "engines"],
    "address": {"city": "London", "zip": None},
    "a b": "spaced key",
    "items": [
        {"sku": "A1", "qty": 2, "price": 3.5},
        {"sku": "B2", "qty": 0, "price": 10},
        {"sku": "C3", "qty": 5, "price": 1.25},
    ],
    "empty": "",
    "zero": 0,
    "flag": True,
    "nested": {"deep": {"list": [10, 20, 30]}},
    "csv": "a,b,,c",
    "padded": "  hi  ",
    "html": "<p>Hello <b>World</b></p>",
}
GRACE = {"name": "Grace Hopper", "n": 7}


def make_ctx(
    items: Items | None = None,
    *,
    name: str = "Node",
    source: list[Source | None] | None = None,
    run_data: RunData | None = None,
    execution: ExecutionInfo | None = None,
    run_index: int = 0,
    custom_data: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> NodeContext:
    if items is None:
        items = [{"json": ADA, "pairedItem": {"item": 0}}, {"json": GRACE, "pairedItem": {"item": 1}}]
    return NodeContext(
        {"name": name, "type": "n8n-nodes-base.set", "parameters": parameters or {}},
        [items],
        source if source is not None else [None],
        run_index,
        execution or ExecutionInfo(),
        run_data if run_data is not None else {},
        custom_data if custom_data is not None else {},
    )


def ev(template: str, ctx: NodeContext | None = None, item_index: int = 0, path: str = "value") -> Any:
    return evaluate_template(template, ctx or make_ctx(), item_index, path)
