"""Helpers for the engine's pure unit tests: run a workflow in-process and read what happened."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflows.engine.context import ExecutionInfo, NodeContext
from workflows.engine.registry import NodeRegistry, default_registry
from workflows.engine.runner import RunHooks, RunResult, WorkflowRunner, start_state
from workflows.engine.state import Items, NodeRunRecord


@dataclass
class Run:
    """A finished (or stopped) run: the runner, how it ended, and readers for its run data."""

    runner: WorkflowRunner
    result: RunResult

    @property
    def records(self) -> list[NodeRunRecord]:
        """Every node run, in execution order."""
        runs = [rec for recs in self.runner.run_data.values() for rec in recs]
        return sorted(runs, key=lambda rec: rec.execution_index)

    @property
    def order(self) -> list[str]:
        """Node names in the order they ran (a node that ran twice appears twice)."""
        return [rec.node for rec in self.records]

    def record(self, node: str, run: int = 0) -> NodeRunRecord:
        return self.runner.run_data[node][run]

    def items(self, node: str, output: int = 0, run: int = 0) -> Items:
        out = self.record(node, run).output
        assert out is not None, f"{node} has no output (status {self.record(node, run).status})"
        return out[output]

    def json(self, node: str, output: int = 0, run: int = 0) -> list[dict[str, Any]]:
        return [item["json"] for item in self.items(node, output, run)]

    def ran(self, node: str) -> bool:
        return node in self.runner.run_data


def items_of(*payloads: dict[str, Any]) -> Items:
    """Trigger input items with pairedItem set, as ``wrap_items`` would produce."""
    return [{"json": payload, "pairedItem": {"item": i}} for i, payload in enumerate(payloads)]


def run_workflow(
    nodes: list[dict[str, Any]],
    connections: Mapping[str, Any],
    items: Items | None = None,
    *,
    trigger: str | None = None,
    registry: NodeRegistry | None = None,
    hooks: RunHooks | None = None,
    max_node_runs: int = 1000,
    **state_options: Any,
) -> Run:
    """Run from ``trigger`` (default: the first node) with ``items`` as its input."""
    runner = WorkflowRunner(
        nodes=nodes,
        connections=connections,
        registry=registry or default_registry(),
        state=start_state(trigger or nodes[0]["name"], items if items is not None else [], **state_options),
        hooks=hooks,
        max_node_runs=max_node_runs,
    )
    return Run(runner, runner.run())


def execute_node(node: dict[str, Any], *inputs: Items | None) -> list[Items]:
    """Run one node type's ``execute`` directly on the given inputs (after validating its parameters)."""
    node_type = default_registry().get(node["type"])
    assert node_type is not None, node["type"]
    node_type.validate_parameters(node.get("parameters") or {}, node)
    ctx = NodeContext(
        node,
        list(inputs),
        [None] * len(inputs),
        0,
        ExecutionInfo(),
        {},
        {},
    )
    result = node_type.execute(ctx)
    assert isinstance(result, list)
    return result


def condition(left: Any, kind: str, operation: str, right: Any = None) -> dict[str, Any]:
    """One n8n filter condition."""
    cond: dict[str, Any] = {"leftValue": left, "operator": {"type": kind, "operation": operation}}
    if right is not None:
        cond["rightValue"] = right
    return cond


def conditions(*conds: dict[str, Any], combinator: str = "and", **options: Any) -> dict[str, Any]:
    """The ``conditions`` parameter of If / Filter (n8n filter format, version 2)."""
    return {
        "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2, **options},
        "conditions": list(conds),
        "combinator": combinator,
    }


def fresh_registry(*extra: type[Any]) -> NodeRegistry:
    """A registry with every built-in node type plus ``extra`` types (the global one stays untouched)."""
    registry = NodeRegistry()
    for node_type in default_registry():
        registry.register(type(node_type))
    for node_type_cls in extra:
        registry.register(node_type_cls)
    return registry
