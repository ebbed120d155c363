"""``n8n-nodes-base.if`` 2–2.2: routes each item to output 0 (true) or 1 (false)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.engine.conditions import evaluate_conditions, validate_conditions
from workflows.engine.context import NodeContext
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import registry
from workflows.engine.state import Items


@registry.register
class IfNode(NodeType):
    type = "n8n-nodes-base.if"
    versions = (2.0, 2.1, 2.2)
    description = "Evaluates `conditions` per item: true → output 0, false → output 1."

    def output_count(self, node: Mapping[str, Any]) -> int:
        return 2

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        validate_conditions(parameters.get("conditions", {}))

    def execute(self, ctx: NodeContext) -> list[Items]:
        true_items: Items = []
        false_items: Items = []
        for i, item in enumerate(ctx.input(0)):
            target = true_items if evaluate_conditions(ctx, "conditions", i) else false_items
            target.append({**item, "pairedItem": {"item": i}})
        return [true_items, false_items]
