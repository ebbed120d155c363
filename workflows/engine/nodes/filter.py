"""``n8n-nodes-base.filter`` 2–2.2: keeps the items whose `conditions` match."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.engine.conditions import evaluate_conditions, validate_conditions
from workflows.engine.context import NodeContext
from workflows.engine.errors import ParameterError
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import registry
from workflows.engine.state import Items


@registry.register
class Filter(NodeType):
    type = "n8n-nodes-base.filter"
    versions = (2.0, 2.1, 2.2)
    description = "Keeps items matching `conditions` on its one output; the others are dropped."

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        validate_conditions(parameters.get("conditions", {}))
        options = parameters.get("options", {})
        if not isinstance(options, Mapping):
            raise ParameterError("options", "must be an object")

    def execute(self, ctx: NodeContext) -> list[Items]:
        # n8n records the discarded items as a second, unconnectable output ("Discarded").
        # Only the kept items are returned here: an extra output would collide with the
        # error output that `onError: continueErrorOutput` appends after the node's outputs.
        kept: Items = [
            {**item, "pairedItem": {"item": i}}
            for i, item in enumerate(ctx.input(0))
            if evaluate_conditions(ctx, "conditions", i)
        ]
        return [kept]
